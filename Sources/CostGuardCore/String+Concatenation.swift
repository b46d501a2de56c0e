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
                // Native strings are contiguous; a bridged or lazily built one is copied byte by byte.
                let copied = part.utf8.withContiguousStorageIfAvailable { bytes in
                    _ = UnsafeMutableBufferPointer(rebasing: buffer[position...]).initialize(fromContentsOf: bytes)
                    return bytes.count
                }
                if let copied {
                    position += copied
                } else {
                    for byte in part.utf8 {
                        buffer[position] = byte
                        position += 1
                    }
                }
            }
            return position
        }
    }
}
