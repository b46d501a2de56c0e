#if canImport(FoundationEssentials)
internal import FoundationEssentials
#else
internal import Foundation
#endif

/// The shared AWS `config` and `credentials` files (`~/.aws/config`, `~/.aws/credentials`), parsed the way the AWS
/// CLI reads them: `[default]` and `[profile NAME]` in config, `[NAME]` in credentials, `key = value` lines, nested
/// `key =` blocks with indented sub-keys, `#` and `;` comments, and keys from the credentials file taking
/// precedence over the same keys in config.
public struct SharedConfigFiles: Sendable {
    /// One profile's settings.
    public struct Profile: Sendable, Equatable {
        public var name: String
        /// Keys lower-cased.
        public var values: [String: String]
        /// Nested blocks (`s3 =` followed by indented lines), keyed by block name.
        public var blocks: [String: [String: String]]

        public subscript(_ key: String) -> String? { values[key.lowercased()] }
    }

    /// `[profile x]` and `[default]` from the config file, by profile name.
    public var configProfiles: [String: Profile] = [:]
    /// Sections of the credentials file, by profile name.
    public var credentialProfiles: [String: Profile] = [:]
    /// `[services NAME]` sections of the config file.
    public var services: [String: Profile] = [:]
    /// The files read (for messages).
    public var configPath: String
    public var credentialsPath: String

    /// The named profile, credentials-file keys over config-file keys; `nil` when neither file has it.
    public func profile(_ name: String) -> Profile? {
        let config = configProfiles[name]
        let credentials = credentialProfiles[name]
        guard config != nil || credentials != nil else { return nil }
        var merged = config ?? Profile(name: name, values: [:], blocks: [:])
        for (key, value) in credentials?.values ?? [:] { merged.values[key] = value }
        return merged
    }

    /// Every profile name in either file.
    public var profileNames: [String] { Set(configProfiles.keys).union(credentialProfiles.keys).sorted() }

    /// Reads both files. A missing file is empty; an unreadable or malformed one is an error naming file and line.
    ///
    /// - Parameter environment: `AWS_CONFIG_FILE`, `AWS_SHARED_CREDENTIALS_FILE` and `HOME` are read from it.
    public static func load(environment: [String: String]) throws(AWSError) -> SharedConfigFiles {
        let home = environment["HOME"] ?? ""
        let configPath = expand(environment["AWS_CONFIG_FILE"] ?? "~/.aws/config", home: home)
        let credentialsPath = expand(environment["AWS_SHARED_CREDENTIALS_FILE"] ?? "~/.aws/credentials", home: home)
        var files = SharedConfigFiles(configPath: configPath, credentialsPath: credentialsPath)
        if let text = try read(configPath) {
            for section in try parse(text, path: configPath) {
                if section.header == "default" {
                    // `[profile default]` wins over `[default]` when both exist, as in the CLI.
                    if files.configProfiles["default"] == nil {
                        files.configProfiles["default"] = section.profile("default")
                    }
                } else if section.header.hasPrefix("profile ") {
                    let name = section.header.dropFirst("profile ".count).trimmingWhitespaceAndNewlines
                    files.configProfiles[name] = section.profile(name)
                } else if section.header.hasPrefix("services ") {
                    let name = section.header.dropFirst("services ".count).trimmingWhitespaceAndNewlines
                    files.services[name] = section.profile(name)
                }
            }
        }
        if let text = try read(credentialsPath) {
            for section in try parse(text, path: credentialsPath) {
                files.credentialProfiles[section.header] = section.profile(section.header)
            }
        }
        return files
    }

    struct Section {
        var header: String
        var values: [String: String] = [:]
        var blocks: [String: [String: String]] = [:]

        func profile(_ name: String) -> Profile { Profile(name: name, values: values, blocks: blocks) }
    }

    /// Parses INI text into sections, in order.
    static func parse(_ text: String, path: String) throws(AWSError) -> [Section] {
        var sections: [Section] = []
        var openBlock: String?
        for (offset, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let lineNumber = offset + 1
            var line = String(rawLine)
            if line.hasSuffix("\r") { line.removeLast() }
            let trimmed = line.trimmingWhitespaceAndNewlines
            if trimmed.isEmpty || trimmed.hasPrefix("#") || trimmed.hasPrefix(";") { continue }
            let indented = line.first == " " || line.first == "\t"
            if trimmed.hasPrefix("[") {
                guard let close = trimmed.lastIndex(of: "]") else {
                    throw malformed(path, lineNumber, "a section header must end with ']'")
                }
                let header = trimmed[trimmed.index(after: trimmed.startIndex)..<close]
                    .trimmingWhitespaceAndNewlines
                sections.append(Section(header: header))
                openBlock = nil
                continue
            }
            guard !sections.isEmpty else {
                throw malformed(path, lineNumber, "a setting appears before any [section] header")
            }
            guard let equals = trimmed.firstIndex(of: "=") else {
                throw malformed(path, lineNumber, "expected 'key = value'")
            }
            let key = trimmed[..<equals].trimmingWhitespaceAndNewlines.lowercased()
            let value = stripInlineComment(String(trimmed[trimmed.index(after: equals)...]))
            if indented, let block = openBlock {
                sections[sections.count - 1].blocks[block, default: [:]][key] = value
                continue
            }
            if value.isEmpty {
                openBlock = key
                sections[sections.count - 1].blocks[key] = sections[sections.count - 1].blocks[key] ?? [:]
            } else {
                openBlock = nil
                sections[sections.count - 1].values[key] = value
            }
        }
        return sections
    }

    /// Removes a ` #` or ` ;` comment from a value, and surrounding whitespace.
    static func stripInlineComment(_ value: String) -> String {
        var result = value
        for marker in [" #", "\t#", " ;", "\t;"] {
            if let range = result.firstRange(of: marker) { result = String(result[..<range.lowerBound]) }
        }
        return result.trimmingWhitespaceAndNewlines
    }

    static func expand(_ path: String, home: String) -> String {
        path.hasPrefix("~/") ? home + path.dropFirst(1) : path
    }

    static func read(_ path: String) throws(AWSError) -> String? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let data = FileContents.read(path) else {
            throw AWSError(
                kind: .configuration,
                service: "config",
                operation: "read",
                message: "cannot read \(path); check its permissions"
            )
        }
        return String(decoding: data, as: UTF8.self)
    }

    static func malformed(_ path: String, _ line: Int, _ problem: String) -> AWSError {
        AWSError(
            kind: .configuration,
            service: "config",
            operation: "parse",
            message: "\(path) line \(line): \(problem)"
        )
    }
}
