import AWSClients
import CostGuardCore
import CostGuardLedger

extension Reconciler {
    /// States EMR bills for that a termination can apply to.
    static let billingStates: [ClusterState] = [.starting, .bootstrapping, .running, .waiting]

    /// Observes the tracked clusters of a region: one ListClusters page per 50 billing clusters; a DescribeCluster
    /// only for a tracked cluster that is missing from that list (to learn how it ended). Absence from a list is a
    /// hint, a describe is the proof.
    ///
    /// - Returns: the clusters seen this pass whose observation matched the ledger and was not rewritten (the
    ///   policy counts them as observed this pass; a pass then writes only what changed).
    func observeClusters(_ region: RegionClients, problems: inout Problems) async throws(LedgerError) -> Set<String> {
        // Rows and summaries are read in place, by index: iterating them would copy each one (and retain its strings).
        let all = try ledger.clusters.tracked()
        // A cluster created in another account (a task's `Credentials.RoleArn`) is not visible to this account's
        // EMR: it is never observed (nor marked ended because this account does not know it).
        let tracked = all.indices.filter {
            all[$0].region == region.region && all[$0].account == all[$0].creatorAccount
        }
        guard !tracked.isEmpty else { return [] }
        var unchanged: Set<String> = []
        unchanged.reserveCapacity(tracked.count)
        // The pages as they came, and where each listed cluster is in them (a summary is not copied into a map).
        var pages: [[EMR.ClusterSummary]] = []
        var listed: [String: (page: Int, item: Int)] = [:]
        listed.reserveCapacity(tracked.count + 64)
        do {
            for try await page in region.emr.listClusters(states: Self.billingStates) {
                let clusters = page.clusters
                for item in clusters.indices { listed[clusters[item].id] = (pages.count, item) }
                pages.append(clusters)
            }
        } catch {
            problems.add("ListClusters in \(region.region): \(error)", region: region.region, reach: .region)
            return []
        }
        var observations: [ClusterObservation] = []
        for index in tracked {
            let id = all[index].id
            if let at = listed[id] {
                if Self.isUnchanged(pages[at.page][at.item], all[index]) {
                    unchanged.insert(id)
                } else {
                    observations.append(Self.observation(pages[at.page][at.item]))
                }
                continue
            }
            do {
                observations.append(Self.observation(try await region.emr.describeCluster(id)))
            } catch let error where error.code == "InvalidRequestException" && error.message.contains("not valid") {
                // EMR forgets terminated clusters after about two months: a missing cluster has ended.
                observations.append(
                    ClusterObservation(
                        id: id,
                        state: .terminated,
                        stateChangeReason: "no longer known to EMR",
                        source: "DescribeCluster"
                    )
                )
            } catch {
                problems.add("DescribeCluster \(id): \(error)", region: region.region, reach: .local)
            }
        }
        try ledger.clusters.recordObservations(observations, at: now())
        try recordUntracked(pages: pages, tracked: all, region: region.region, account: all[tracked[0]].creatorAccount)
        return unchanged
    }

    /// Records the listed billing clusters that no followed workflow created (made by hand, by another tool, or by
    /// an execution older than Step Functions' 90-day history): `report` shows them; nothing acts on them.
    func recordUntracked(
        pages: [[EMR.ClusterSummary]],
        tracked: [TrackedCluster],
        region: String,
        account: String
    ) throws(LedgerError) {
        let trackedIDs = Set(tracked.map(\.id))
        var candidates: [EMR.ClusterSummary] = []
        for page in pages {
            for index in page.indices where !trackedIDs.contains(page[index].id) { candidates.append(page[index]) }
        }
        let known = try ledger.clusters.trackedIDs(among: candidates.map(\.id))
        let untracked = candidates.filter { !known.contains($0.id) }.map { summary in
            UntrackedCluster(
                id: summary.id,
                region: region,
                account: account,
                name: summary.name,
                state: summary.status.state,
                createdAt: summary.status.timeline?.creationDateTime,
                normalizedInstanceHours: summary.normalizedInstanceHours
            )
        }
        try ledger.clusters.recordUntracked(untracked, region: region, at: now())
    }

    /// Whether a listed cluster's observation would leave its ledger row as it is (the test on the fields a
    /// ListClusters observation writes; the row must have its creation time).
    static func isUnchanged(_ summary: EMR.ClusterSummary, _ cluster: TrackedCluster) -> Bool {
        (ClusterState(rawValue: summary.status.state) ?? .unknown) == cluster.state && summary.name == cluster.name
            && cluster.createdAt != nil && summary.normalizedInstanceHours == cluster.normalizedInstanceHours
    }

    static func observation(_ summary: EMR.ClusterSummary) -> ClusterObservation {
        ClusterObservation(
            id: summary.id,
            state: ClusterState(rawValue: summary.status.state) ?? .unknown,
            stateChangeReason: summary.status.stateChangeReason?.code,
            name: summary.name,
            arn: summary.clusterArn,
            normalizedInstanceHours: summary.normalizedInstanceHours,
            createdAt: summary.status.timeline?.creationDateTime,
            readyAt: summary.status.timeline?.readyDateTime,
            endedAt: summary.status.timeline?.endDateTime,
            source: "ListClusters"
        )
    }

    /// An observation from DescribeCluster, with protection and the tags the policy cares about.
    func observationWithTags(_ cluster: EMR.Cluster) -> ClusterObservation {
        var observation = Self.observation(cluster)
        let keys = Set(configuration.policy.exemptTags.map(\.key))
        observation.tags = Dictionary(
            (cluster.tags ?? []).filter { keys.contains($0.key) }.map { ($0.key, $0.value ?? "") },
            uniquingKeysWith: { a, _ in a }
        )
        return observation
    }

    static func observation(_ cluster: EMR.Cluster) -> ClusterObservation {
        ClusterObservation(
            id: cluster.id,
            state: ClusterState(rawValue: cluster.status.state) ?? .unknown,
            stateChangeReason: cluster.status.stateChangeReason?.code,
            name: cluster.name,
            arn: cluster.clusterArn,
            terminationProtected: cluster.terminationProtected,
            normalizedInstanceHours: cluster.normalizedInstanceHours,
            createdAt: cluster.status.timeline?.creationDateTime,
            readyAt: cluster.status.timeline?.readyDateTime,
            endedAt: cluster.status.timeline?.endDateTime,
            instanceCollectionType: cluster.instanceCollectionType,
            autoTerminate: cluster.autoTerminate,
            source: "DescribeCluster"
        )
    }

    /// Dispositions whose cost the report shows (the orphans, and what CostGuard terminated: the money saved), so
    /// their capacity is read once.
    static let costedDispositions = Set(ReportBuilder.orphanDispositions).union([.terminated])

    /// Reads what a cluster runs (instance groups, or the instance types of its fleets), once per cluster, for
    /// the cost report. Failures only leave the cost unknown.
    ///
    /// - Returns: the ids of every instance group or fleet read (fleets with no capacity too), or `nil` when the read
    ///   failed.
    @discardableResult
    func readCapacity(
        _ clusterID: String,
        region: RegionClients,
        collectionType: String?,
        problems: inout Problems
    ) async throws(LedgerError) -> Set<String>? {
        do {
            var units: [CapacityUnit] = []
            var ids: Set<String> = []
            if collectionType != "INSTANCE_FLEET" {
                for try await page in region.emr.listInstanceGroups(clusterID) {
                    for group in page.instanceGroups {
                        ids.insert(group.id)
                        units.append(
                            CapacityUnit(
                                unitID: group.id,
                                kind: "group",
                                role: group.instanceGroupType,
                                instanceType: group.instanceType ?? "unknown",
                                market: group.market == "SPOT" ? "SPOT" : "ON_DEMAND",
                                runningCount: group.runningInstanceCount ?? 0,
                                bidPrice: group.bidPrice
                            )
                        )
                    }
                }
            }
            if collectionType == "INSTANCE_FLEET" {
                for try await page in region.emr.listInstanceFleets(clusterID) {
                    for fleet in page.instanceFleets {
                        ids.insert(fleet.id)
                        // EMR does not say how the provisioned capacity splits across types: attribute it to the
                        // first (the report says "estimated").
                        let spec = fleet.instanceTypeSpecifications?.first
                        let weight = max(spec?.weightedCapacity ?? 1, 1)
                        for (market, count) in [
                            ("ON_DEMAND", fleet.provisionedOnDemandCapacity ?? 0),
                            ("SPOT", fleet.provisionedSpotCapacity ?? 0),
                        ] where count > 0 {
                            units.append(
                                CapacityUnit(
                                    unitID: fleet.id,
                                    kind: "fleet",
                                    role: fleet.instanceFleetType,
                                    instanceType: spec?.instanceType ?? "unknown",
                                    market: market,
                                    runningCount: count,
                                    weight: weight
                                )
                            )
                        }
                    }
                }
            }
            try ledger.clusters.recordCapacity(
                clusterID: clusterID,
                collectionType: collectionType,
                units: units,
                at: now()
            )
            return ids
        } catch let error as LedgerError {
            throw error
        } catch {
            problems.warnings.append("capacity of \(clusterID) (cost unknown): \(error)")
            return nil
        }
    }
}
