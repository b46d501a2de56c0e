import CostGuardCore
import Testing

@Suite("Cost estimates")
struct CostTests {
    let prices = PriceTable()

    @Test("instance groups: instances × (EC2 + EMR uplift)")
    func groups() {
        // 1 × m5.xlarge (0.192 + 0.048) + 4 × r5.2xlarge (0.504 + 0.126) = 0.24 + 2.52 = 2.76 per hour.
        let estimate = CostEstimate.estimate(
            units: [
                .init(instanceType: "m5.xlarge", spot: false, instances: 1),
                .init(instanceType: "r5.2xlarge", spot: false, instances: 4),
            ],
            region: "us-east-1",
            prices: prices,
            normalizedInstanceHours: nil,
            hoursRunning: 3
        )
        #expect(estimate.basis == "capacity")
        #expect(abs(estimate.perHour! - 2.76) < 1e-9)
    }

    @Test("Spot: EC2 at the configured fraction, EMR uplift unchanged")
    func spot() {
        var table = prices
        table.spotFraction = 0.3
        // 10 × m5.xlarge Spot: 10 × (0.192 × 0.3 + 0.048) = 10 × 0.1056 = 1.056.
        let estimate = CostEstimate.estimate(
            units: [.init(instanceType: "m5.xlarge", spot: true, instances: 10)],
            region: "us-east-1",
            prices: table,
            normalizedInstanceHours: nil,
            hoursRunning: 1
        )
        #expect(abs(estimate.perHour! - 1.056) < 1e-9)
    }

    @Test("fleets count capacity units divided by the type's weight; regional overrides win")
    func fleets() {
        var table = prices
        table.regional["eu-west-1"] = ["c5.xlarge": .init(ec2: 0.2, emr: 0.05)]
        // 8 units of weight 4 = 2 instances × (0.2 + 0.05) = 0.5.
        let estimate = CostEstimate.estimate(
            units: [.init(instanceType: "c5.xlarge", spot: false, instances: 8.0 / 4.0)],
            region: "eu-west-1",
            prices: table,
            normalizedInstanceHours: nil,
            hoursRunning: 1
        )
        #expect(abs(estimate.perHour! - 0.5) < 1e-9)
    }

    @Test("unknown capacity or price falls back to NormalizedInstanceHours × rate, and says so")
    func fallback() {
        // 96 normalized hours over 4 hours = 24 per hour × 0.0125 = 0.30.
        let estimate = CostEstimate.estimate(
            units: [],
            region: "us-east-1",
            prices: prices,
            normalizedInstanceHours: 96,
            hoursRunning: 4
        )
        #expect(estimate.basis == "normalized-instance-hours")
        #expect(abs(estimate.perHour! - 0.30) < 1e-9)
        let unpriced = CostEstimate.estimate(
            units: [.init(instanceType: "x99.huge", spot: false, instances: 1)],
            region: "us-east-1",
            prices: prices,
            normalizedInstanceHours: nil,
            hoursRunning: 1
        )
        #expect(unpriced.perHour == nil)
        #expect(unpriced.basis == "unknown")
        #expect(unpriced.unpricedTypes == ["x99.huge"])
    }
}
