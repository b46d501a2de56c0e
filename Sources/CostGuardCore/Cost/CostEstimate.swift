/// What a cluster costs, estimated from what it runs.
public struct CostEstimate: Sendable, Equatable {
    /// USD per hour while it runs as observed.
    public var perHour: Double?
    /// How the figure was made: `capacity` (instance groups or fleets × price table), `normalized-instance-hours`
    /// (the fallback when capacity or a price is unknown), or `unknown`.
    public var basis: String
    /// Instance types with no price in the table (their share is missing from `perHour`).
    public var unpricedTypes: [String]

    /// A running instance group, or one instance type of a fleet.
    public struct Unit: Sendable, Equatable {
        public var instanceType: String
        public var spot: Bool
        public var instances: Double

        public init(instanceType: String, spot: Bool, instances: Double) {
            self.instanceType = instanceType
            self.spot = spot
            self.instances = instances
        }
    }

    /// Estimates the hourly cost of `units` in `region`; with no units, falls back to normalized instance hours
    /// accrued over `hoursRunning`.
    public static func estimate(
        units: [Unit],
        region: String,
        prices: PriceTable,
        normalizedInstanceHours: Int?,
        hoursRunning: Double
    ) -> CostEstimate {
        var total = 0.0
        var unpriced: [String] = []
        for unit in units where unit.instances > 0 {
            guard let price = prices.price(unit.instanceType, region: region) else {
                unpriced.append(unit.instanceType)
                continue
            }
            total += unit.instances * ((unit.spot ? price.ec2 * prices.spotFraction : price.ec2) + price.emr)
        }
        if !units.isEmpty && unpriced.isEmpty {
            return CostEstimate(perHour: total, basis: "capacity", unpricedTypes: [])
        }
        if let nih = normalizedInstanceHours, nih > 0, hoursRunning > 0 {
            // NormalizedInstanceHours accrue over the cluster's life: turn them into a rate.
            return CostEstimate(
                perHour: Double(nih) / hoursRunning * prices.normalizedHourRate,
                basis: "normalized-instance-hours",
                unpricedTypes: unpriced
            )
        }
        if !units.isEmpty && total > 0 {
            return CostEstimate(
                perHour: total,
                basis: "capacity (partial: no price for \(unpriced.joined(separator: ", ")))",
                unpricedTypes: unpriced
            )
        }
        return CostEstimate(perHour: nil, basis: "unknown", unpricedTypes: unpriced)
    }
}
