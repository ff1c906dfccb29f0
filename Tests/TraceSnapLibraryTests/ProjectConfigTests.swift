import Foundation
import Testing
import TraceSnapLibrary

@Suite struct ProjectConfigTests {
    @Test(
        arguments: [
            ("project = \"shop api\"", "shop api"),
            ("project='lit\\eral'  # comment", "lit\\eral"),
            ("  project   =   \"a\"   # trailing", "a"),
            ("# project = \"commented\"\nproject = \"real\"", "real"),
            ("project = \"we\\\"ird\\\\\"", "we\"ird\\"),
            ("project = \"caf\\u00e9\"", "café"),
            ("\"project\" = \"quoted key\"", "quoted key"),
            ("[tool]\nproject = \"in a table\"", nil),
            ("name = \"x\"", nil),
            ("project = bare", nil),
            ("project = \"unterminated", nil),
            ("project = \"\"", ""),
        ] as [(String, String?)])
    func parses(text: String, expected: String?) {
        #expect(ProjectConfig.parseProject(text) == expected)
    }

    @Test(arguments: ["plain", "we\"ird", "back\\slash", "tab\there", "✓ unicode", "'single'", "#hash"])
    func quoteRoundTrips(name: String) {
        #expect(ProjectConfig.parseProject("project = " + ProjectConfig.quote(name)) == name)
        #expect(ProjectConfig.parseProject(ProjectConfig.initialText(project: name)) == name)
    }

    @Test func updateKeepsCommentsAndOtherKeys() {
        let text = "# my config\nproject = \"old\"  # the team\nother = 1\n[tool]\nproject = \"nested\"\n"
        let updated = ProjectConfig.updating(text, project: "n\"ew")
        #expect(ProjectConfig.parseProject(updated) == "n\"ew")
        #expect(updated.contains("# my config"))
        #expect(updated.contains("# the team"))
        #expect(updated.contains("other = 1"))
        #expect(updated.contains("project = \"nested\""))
        let inserted = ProjectConfig.updating("# only comments\n[tool]\nx = 1\n", project: "p")
        #expect(ProjectConfig.parseProject(inserted) == "p")
    }

    @Test func resolveWalksUpAndFallsBack() throws {
        let base = NSTemporaryDirectory() + "tracesnap-project-" + UUID().uuidString
        let deep = base + "/repo/src/pkg"
        try FileManager.default.createDirectory(atPath: deep, withIntermediateDirectories: true)
        let resolvedBefore = ProjectConfig.resolve(from: deep)
        #expect(resolvedBefore.name == "pkg")
        try ProjectConfig.write(project: "the repo", to: base + "/repo/.tracesnap.toml")
        let resolved = ProjectConfig.resolve(from: deep)
        #expect(resolved.name == "the repo")
        #expect(resolved.origin == .config(base + "/repo/.tracesnap.toml"))
        try "# nothing\n".write(toFile: base + "/repo/src/.tracesnap.toml", atomically: true, encoding: .utf8)
        let empty = ProjectConfig.resolve(from: deep)
        #expect(empty.name == "pkg")
        #expect(empty.origin == .folderName(configPath: base + "/repo/src/.tracesnap.toml"))
        #expect(ProjectConfig.resolve(from: "/").name == "default")
    }
}
