/// The AWS services CostGuard calls, with their signing names and environment ids.
public enum AWSService: String, Sendable, CaseIterable {
    case stepFunctions = "states"
    case emr = "elasticmapreduce"
    case sts = "sts"
    /// For notices (`[notify] sns_topic_arn`).
    case sns = "sns"

    /// The signing name (credential scope) and hostname prefix.
    public var signingName: String { rawValue }

    /// The service id used in `AWS_ENDPOINT_URL_<ID>` and in `[services]` sections (lower-cased there).
    public var environmentID: String {
        switch self {
        case .stepFunctions: return "SFN"
        case .emr: return "EMR"
        case .sts: return "STS"
        case .sns: return "SNS"
        }
    }
}

/// An AWS partition: where a region's default endpoints live.
public struct Partition: Sendable, Equatable {
    public var name: String
    public var dnsSuffix: String

    public static let aws = Partition(name: "aws", dnsSuffix: "amazonaws.com")
    public static let china = Partition(name: "aws-cn", dnsSuffix: "amazonaws.com.cn")
    public static let govCloud = Partition(name: "aws-us-gov", dnsSuffix: "amazonaws.com")
    public static let iso = Partition(name: "aws-iso", dnsSuffix: "c2s.ic.gov")
    public static let isoB = Partition(name: "aws-iso-b", dnsSuffix: "sc2s.sgov.gov")

    /// The partition of a region name (`cn-north-1` → aws-cn, `us-gov-west-1` → aws-us-gov, else aws).
    public static func of(region: String) -> Partition {
        if region.hasPrefix("cn-") { return .china }
        if region.hasPrefix("us-gov-") { return .govCloud }
        if region.hasPrefix("us-isob-") { return .isoB }
        if region.hasPrefix("us-iso-") { return .iso }
        return .aws
    }
}

/// Where requests for one service go.
public struct Endpoint: Sendable, Equatable, CustomStringConvertible {
    /// Base URL without a trailing slash, e.g. `https://states.us-east-1.amazonaws.com`.
    public var url: String {
        didSet { host = Self.host(of: url) }
    }
    /// Where it came from: `default`, `AWS_ENDPOINT_URL_SFN`, `profile endpoint_url`, …
    public var source: String
    /// The `Host` header value for this endpoint (host, plus port when not the scheme's default). Derived from
    /// `url` once, not per request: every request signs it.
    public private(set) var host: String

    public init(url: String, source: String) {
        self.url = url
        self.source = source
        self.host = Self.host(of: url)
    }

    public var description: String { "\(url) (\(source))" }

    /// The `Host` value the transport sends for `url` (one parser for both: what is signed is what is sent); empty
    /// for a URL the transport refuses (it names the fault when a request is made).
    static func host(of url: String) -> String {
        (try? Target(url: url))?.hostHeader ?? ""
    }

    /// The default endpoint of `service` in `region`.
    public static func defaultEndpoint(_ service: AWSService, region: String) -> Endpoint {
        let partition = Partition.of(region: region)
        return Endpoint(url: "https://\(service.signingName).\(region).\(partition.dnsSuffix)", source: "default")
    }

    /// Resolves the endpoint as the SDKs do: `AWS_ENDPOINT_URL_<SERVICE>`, then `AWS_ENDPOINT_URL`, then the
    /// profile's `[services]` block for the service, then the profile's `endpoint_url`, then the default — unless
    /// `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` (or the profile's `ignore_configured_endpoint_urls`) is true.
    public static func resolve(
        _ service: AWSService,
        region: String,
        environment: [String: String],
        profile: SharedConfigFiles.Profile?,
        files: SharedConfigFiles?
    ) throws(AWSError) -> Endpoint {
        let ignore =
            (environment["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"]
            ?? profile?["ignore_configured_endpoint_urls"])?.lowercased() == "true"
        var candidates: [(String?, String)] = []
        if !ignore {
            let id = service.environmentID
            candidates.append((environment["AWS_ENDPOINT_URL_\(id)"], "AWS_ENDPOINT_URL_\(id)"))
            candidates.append((environment["AWS_ENDPOINT_URL"], "AWS_ENDPOINT_URL"))
            if let servicesName = profile?["services"], let block = files?.services[servicesName] {
                candidates.append(
                    (block.blocks[id.lowercased()]?["endpoint_url"], "[services \(servicesName)] \(id.lowercased())")
                )
            }
            candidates.append((profile?["endpoint_url"], "profile \(profile?.name ?? "") endpoint_url"))
        }
        for case let (value?, source) in candidates where !value.isEmpty {
            guard value.hasPrefix("http://") || value.hasPrefix("https://") else {
                throw AWSError(
                    kind: .configuration,
                    service: service.signingName,
                    operation: "endpoint",
                    message: "\(source) is '\(value)', which is not an http:// or https:// URL"
                )
            }
            return Endpoint(url: value.hasSuffix("/") ? String(value.dropLast()) : value, source: source)
        }
        return defaultEndpoint(service, region: region)
    }
}
