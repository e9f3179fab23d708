import Testing
@testable import QueueCore

/// The text format's rules: what label values and help texts escape, how samples
/// are laid out, and bucket bounds written as exact decimals.
@Suite struct PrometheusTextTests {
    @Test func labelValuesEscapeBackslashQuoteAndNewline() {
        #expect(PrometheusText.escapeLabelValue(#"C:\dir "x"\#ny"#) == #"C:\\dir \"x\"\ny"#)
        #expect(PrometheusText.escapeLabelValue("plain-1.0") == "plain-1.0")
    }

    @Test func helpEscapesBackslashAndNewlineButNotQuotes() {
        #expect(PrometheusText.escapeHelp("a \"b\" \\ c\nd") == #"a "b" \\ c\nd"#)
    }

    @Test func metricsAndSamplesInTheOrderAdded() {
        var out = PrometheusText()
        out.metric("q_jobs", .gauge, help: "Jobs.")
        out.sample("q_jobs", [("state", "pending"), ("queue", "a\"b")], 3)
        out.sample("q_total", [], "1.5")
        #expect(out.text == """
            # HELP q_jobs Jobs.
            # TYPE q_jobs gauge
            q_jobs{state="pending",queue="a\\"b"} 3
            q_total 1.5

            """)
    }

    @Test func millisecondsAsExactDecimalSeconds() {
        let cases: [(Int64, String)] = [(5, "0.005"), (10, "0.01"), (250, "0.25"), (1_000, "1"), (2_500, "2.5"),
                                        (3_600_000, "3600"), (12_340, "12.34"), (0, "0"), (-1_500, "-1.5")]
        for (milliseconds, text) in cases { #expect(PrometheusText.seconds(milliseconds: milliseconds) == text) }
    }
}
