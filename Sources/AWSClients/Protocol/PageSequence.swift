/// Pages of a paginated AWS list operation, fetched one at a time as the sequence is iterated.
///
/// Iteration stops after a page with no next token. A token that repeats (a service bug or a broken proxy) ends
/// the sequence with an error instead of looping: a partial listing must never look like a complete one.
public struct PageSequence<Page: Sendable>: AsyncSequence, Sendable {
    public typealias Element = Page
    public typealias Failure = AWSError
    let fetch: @Sendable (String?) async throws(AWSError) -> (Page, String?)
    let operation: String

    public init(operation: String, fetch: @escaping @Sendable (String?) async throws(AWSError) -> (Page, String?)) {
        self.operation = operation
        self.fetch = fetch
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        public typealias Failure = AWSError
        let sequence: PageSequence
        var token: String?
        var done = false
        var seen: Set<String> = []

        public mutating func next() async throws(AWSError) -> Page? {
            guard !done else { return nil }
            let (page, nextToken) = try await sequence.fetch(token)
            if let nextToken, !nextToken.isEmpty {
                if seen.contains(nextToken) {
                    done = true
                    throw AWSError(
                        kind: .malformedResponse,
                        service: "pagination",
                        operation: sequence.operation,
                        message: "the service returned the same page token twice; the listing is incomplete"
                    )
                }
                seen.insert(nextToken)
                token = nextToken
            } else {
                done = true
            }
            return page
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(sequence: self) }

    /// Every page, collected.
    public func collect() async throws(AWSError) -> [Page] {
        var pages: [Page] = []
        var iterator = makeAsyncIterator()
        while let page = try await iterator.next() { pages.append(page) }
        return pages
    }
}
