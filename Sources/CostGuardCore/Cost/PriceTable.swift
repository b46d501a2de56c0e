/// Hourly prices of EMR cluster instances: the EC2 On-Demand price plus the EMR uplift, per instance type.
///
/// The shipped table holds list prices for Linux On-Demand instances in US East (N. Virginia), in USD per
/// instance-hour, for the instance families EMR clusters use most. They are approximations to check against the
/// AWS price list (EC2 On-Demand pricing and the Amazon EMR pricing page); prices in other regions differ by a few
/// percent up to about 30 %. Override or extend them in the config file (`[prices]`); a region-specific override
/// wins over a global one. Spot instances are priced at `spotFraction` of the On-Demand EC2 price (the EMR uplift
/// is the same for Spot).
public struct PriceTable: Sendable, Equatable {
    /// EC2 price and EMR uplift, per hour.
    public struct Price: Sendable, Equatable {
        public var ec2: Double
        public var emr: Double

        public init(ec2: Double, emr: Double) {
            self.ec2 = ec2
            self.emr = emr
        }
    }

    /// When the shipped figures were compiled, and from where.
    public static let shippedAsOf = "2024-06 (us-east-1 list prices, approximate)"

    public var prices: [String: Price]
    /// Region-specific overrides: region → type → price.
    public var regional: [String: [String: Price]] = [:]
    /// Spot EC2 price as a fraction of On-Demand. Default 0.35.
    public var spotFraction = 0.35
    /// USD per normalized instance hour, for clusters whose capacity is unknown. Default 0.0125.
    public var normalizedHourRate = 0.0125

    public init(prices: [String: Price] = PriceTable.shipped) {
        self.prices = prices
    }

    /// The price of `instanceType` in `region`, or nil when unknown.
    public func price(_ instanceType: String, region: String) -> Price? {
        regional[region]?[instanceType] ?? prices[instanceType]
    }

    /// The shipped table (USD per hour; EC2 On-Demand Linux + EMR uplift, us-east-1).
    public static let shipped: [String: Price] = {
        var table: [String: Price] = [:]
        // (family, size, EC2 price per hour, EMR uplift per hour) for xlarge; larger sizes scale linearly.
        let xlarge: [(String, Double, Double)] = [
            ("m5", 0.192, 0.048), ("m5a", 0.172, 0.043), ("m5d", 0.226, 0.057), ("m6g", 0.154, 0.039),
            ("m6i", 0.192, 0.048), ("m7g", 0.1632, 0.041), ("c5", 0.17, 0.043), ("c6g", 0.136, 0.034),
            ("c6i", 0.17, 0.043), ("r5", 0.252, 0.063), ("r5d", 0.288, 0.072), ("r6g", 0.2016, 0.0504),
            ("r6i", 0.252, 0.063), ("r7g", 0.2142, 0.0536), ("i3", 0.312, 0.078),
        ]
        let sizes: [(String, Double)] = [
            ("xlarge", 1), ("2xlarge", 2), ("4xlarge", 4), ("8xlarge", 8), ("12xlarge", 12), ("16xlarge", 16),
        ]
        for (family, ec2, emr) in xlarge {
            for (size, factor) in sizes {
                table["\(family).\(size)"] = Price(ec2: ec2 * factor, emr: emr * factor)
            }
        }
        return table
    }()
}
