extension String {
    /// `parts` joined in one allocation of the exact size.
    ///
    /// An interpolation such as `"its execution \(arn) is \(status)"` reserves room for its literals and a few
    /// bytes per value, then grows (reallocates and copies) when an ARN does not fit: the policy builds a reason
    /// like that for every tracked cluster every pass. This counts the bytes first and copies each part once.
    public init(concatenating parts: String...) {
        var count = 0
        for part in parts { count += part.utf8.count }
        self.init(unsafeUninitializedCapacity: count) { buffer in
            var position = 0
            for part in parts {
                // `withUTF8` makes a non-contiguous string (a bridged or lazily built one) contiguous first.
                var part = part
                position += part.withUTF8 { bytes in
                    UnsafeMutableBufferPointer(rebasing: buffer[position...]).initialize(fromContentsOf: bytes)
                }
            }
            return position
        }
    }
}
