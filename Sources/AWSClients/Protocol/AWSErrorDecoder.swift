import CostGuardCore

/// Reads AWS's error answers in every protocol CostGuard speaks.
enum AWSErrorDecoder {
    /// Turns an error response into an `AWSError`, keeping code, message, status and request id; survives bodies
    /// that are not JSON (moto's XML auth errors, proxies' HTML).
    static func decode(_ service: String, _ operation: String, _ response: HTTPResponse) -> AWSError {
        var code: String?
        var message = ""
        if let header = response.header("X-Amzn-ErrorType") {
            code = String(header.split(separator: ":").first ?? "")
        }
        let text = String(decoding: response.body, as: UTF8.self)
        var parsed = false
        if let object = (try? JSONValue(parsing: response.body))?.object {
            parsed = true
            if let type = object["__type"]?.string ?? object["code"]?.string ?? object["Code"]?.string {
                // `com.amazonaws.emr#InvalidRequestException` or `aws.protocoltests#Code:http://…`
                let afterHash = type.split(separator: "#").last.map(String.init) ?? type
                let bare = afterHash.split(separator: ":").first.map(String.init) ?? afterHash
                if !bare.isEmpty { code = bare }
            }
            message = object["message"]?.string ?? object["Message"]?.string ?? object["errorMessage"]?.string ?? ""
        } else if text.contains("<Code>") {
            parsed = true
            code = XMLText.first("Code", in: text) ?? code
            message = XMLText.first("Message", in: text) ?? ""
        }
        if code?.isEmpty ?? false { code = nil }
        if !parsed && message.isEmpty {
            message = response.body.isEmpty ? "empty error response" : "unparsable error response"
        }
        let requestID = requestID(response) ?? (parsed ? XMLText.first("RequestId", in: text) : nil)
        return AWSError(
            kind: .service,
            service: service,
            operation: operation,
            code: code ?? (response.status == 429 ? "TooManyRequestsException" : nil),
            message: message,
            statusCode: response.status,
            requestID: requestID,
            rawBody: parsed ? nil : text
        )
    }

    /// The request id AWS put in the answer's headers.
    static func requestID(_ response: HTTPResponse) -> String? {
        response.header("x-amzn-RequestId") ?? response.header("x-amz-request-id")
    }
}
