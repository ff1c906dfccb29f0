/// Splits a command-line string like a POSIX shell would for words: whitespace separates,
/// single quotes are literal, double quotes allow `\"` and `\\`, a backslash escapes one character.
/// No expansion of any kind happens. Nil when a quote is not closed.
func splitShellWords(_ text: String) -> [String]? {
    var words: [String] = []
    var current = ""
    var inWord = false
    var iterator = Array(text).makeIterator()
    while let c = iterator.next() {
        switch c {
        case " ", "\t", "\n":
            if inWord {
                words.append(current)
                current = ""
                inWord = false
            }
        case "'":
            inWord = true
            var closed = false
            while let d = iterator.next() {
                if d == "'" {
                    closed = true
                    break
                }
                current.append(d)
            }
            if !closed { return nil }
        case "\"":
            inWord = true
            var closed = false
            while let d = iterator.next() {
                if d == "\"" {
                    closed = true
                    break
                }
                if d == "\\" {
                    guard let e = iterator.next() else { return nil }
                    if e != "\"" && e != "\\" && e != "$" && e != "`" { current.append("\\") }
                    current.append(e)
                } else {
                    current.append(d)
                }
            }
            if !closed { return nil }
        case "\\":
            inWord = true
            guard let d = iterator.next() else { return nil }
            current.append(d)
        default:
            inWord = true
            current.append(c)
        }
    }
    if inWord { words.append(current) }
    return words
}
