#if canImport(Glibc)
internal import Glibc
#elseif canImport(Darwin)
internal import Darwin
#endif

/// Writes to standard output and error with `write(2)`: one call per text when the stream takes it whole (a log
/// line reaches journald or a pipe unsplit), retried after a signal or a partial write. A stream that refuses the
/// text (closed, full disk) loses it: there is nowhere else to report that.
public enum StandardStream {
    public static func output(_ text: String) { write(text, to: STDOUT_FILENO) }

    public static func error(_ text: String) { write(text, to: STDERR_FILENO) }

    static func write(_ text: String, to fd: Int32) {
        var text = text
        text.withUTF8 { bytes in
            guard let base = bytes.baseAddress else { return }
            var offset = 0
            while offset < bytes.count {
                let written = posixWrite(fd, base + offset, bytes.count - offset)
                if written > 0 {
                    offset += written
                } else if written < 0 && errno == EINTR {
                    continue
                } else {
                    return
                }
            }
        }
    }
}

/// `write(2)`, named apart from `StandardStream.write`.
private func posixWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, buffer, count)
}
