import Glibc

/// The results of a bench session and their two forms: a table for
/// people and a JSON object for programs.
struct BenchReport {
    let settings: BenchSettings
    let jobs: Int
    let remainroot: String
    let date = BenchReport.currentDate()
    var rows: [BenchRowResult] = []
    var notes: [String] = []
    /// The C compiler that built the helper programs, if any.
    var compiler: String?
    /// `c` when the per-call loops ran in the compiled helper,
    /// `remainroot` when remainroot ran them itself.
    var helper = "c"
    var seconds = 0.0

    init(settings: BenchSettings, jobs: Int, remainroot: String) {
        self.settings = settings
        self.jobs = jobs
        self.remainroot = remainroot
    }

    // MARK: - Table

    func table() -> String {
        var lines = [
            "remainroot bench, \(settings.name) run: \(BenchFiles.usableCPUCount()) CPUs, Linux \(Self.kernelRelease()), remainroot \(version), make -j\(jobs), \(date), \(Int(seconds.rounded())) s",
            "Each round runs every side once, in rotating order, each run in a new user namespace; traced runs are `remainroot --unshare`.",
            "Values: median, min and max of the runs. Ratios: median of the per-round ratios.",
            "",
        ]

        var cells: [[String]] = [["benchmark", "unit", "side", "median", "min", "max", "ratio", "rounds", "stopped"]]
        for row in rows {
            if let reason = row.unavailable {
                cells.append([row.name, reason])
                continue
            }
            let metrics: [(unit: String, values: [BenchSide: [Double]], isCPU: Bool)] = row.cpu.isEmpty
                ? [(row.unit, row.values, false)]
                : [("\(row.unit) wall", row.values, false), ("\(row.unit) CPU", row.cpu, true)]
            for (metricIndex, metric) in metrics.enumerated() {
                for side in BenchSide.allCases {
                    guard let values = metric.values[side], !values.isEmpty else { continue }
                    let isFirstLine = side == .native
                    var comparison = ""
                    if side != .native {
                        comparison = "\(Self.ratioText(median(row.ratios(side, .native, cpu: metric.isCPU))))x native"
                    }
                    if side == .floor && !metric.isCPU {
                        comparison += "; traced/floor \(Self.ratioText(median(row.ratios(.traced, .floor))))"
                    }
                    let showsRowFacts = metricIndex == 0 && isFirstLine
                    cells.append([
                        showsRowFacts ? row.name : "",
                        isFirstLine ? metric.unit : "",
                        side.title,
                        display(median(values), row),
                        display(values.min() ?? .nan, row),
                        display(values.max() ?? .nan, row),
                        comparison,
                        showsRowFacts ? String(row.rounds) : "",
                        showsRowFacts ? row.stop?.rawValue ?? "" : "",
                    ])
                }
            }
        }
        lines += Self.aligned(cells)

        let rowNotes = rows.flatMap(\.notes)
        if !rowNotes.isEmpty || !notes.isEmpty {
            lines.append("")
            lines += (notes + rowNotes).map { "- " + $0 }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private func display(_ value: Double, _ row: BenchRowResult) -> String {
        formatSignificant(value / row.displayDivisor, digits: 3)
    }

    static func ratioText(_ ratio: Double) -> String {
        ratio >= 10 ? formatFixed(ratio, decimals: 0) : formatFixed(ratio, decimals: 3)
    }

    /// Pads every column to its widest cell. A row with fewer cells than
    /// the header lets its last cell run on.
    static func aligned(_ cells: [[String]]) -> [String] {
        let columns = cells.map(\.count).max() ?? 0
        var widths = [Int](repeating: 0, count: columns)
        for row in cells where row.count == columns {
            for (index, cell) in row.enumerated() {
                widths[index] = max(widths[index], cell.count)
            }
        }
        return cells.map { row in
            var line = ""
            for (index, cell) in row.enumerated() {
                let isLast = index == row.count - 1
                line += isLast ? cell : cell + String(repeating: " ", count: widths[index] - cell.count + 2)
            }
            return line
        }
    }

    // MARK: - JSON

    func json() -> String {
        var object = JSONObject()
        object.add("mode", string: settings.name)
        object.add("date", string: date)
        object.add("seconds", number: seconds)
        object.add("cpus", number: Double(BenchFiles.usableCPUCount()))
        object.add("kernel", string: Self.kernelRelease())
        object.add("remainroot", raw: JSONObject().adding("version", string: version).adding("path", string: remainroot).text)
        object.add("compiler", raw: compiler.map(JSONObject.quote) ?? "null")
        object.add("helper", string: helper)
        object.add("jobs", number: Double(jobs))
        object.add("notes", raw: "[" + notes.map(JSONObject.quote).joined(separator: ", ") + "]")
        object.add("benchmarks", raw: "[\n" + rows.map { "    " + rowJSON($0) }.joined(separator: ",\n") + "\n  ]")
        return object.text + "\n"
    }

    private func rowJSON(_ row: BenchRowResult) -> String {
        var object = JSONObject(indent: false)
        object.add("name", string: row.name)
        if let reason = row.unavailable {
            object.add("available", raw: "false")
            object.add("reason", string: reason)
            return object.text
        }

        object.add("available", raw: "true")
        object.add("unit", string: row.displayDivisor == 1000 ? "ns" : row.unit)
        object.add("rounds", number: Double(row.rounds))
        object.add("stopped", string: row.stop?.rawValue ?? "")
        object.add("seconds", number: row.seconds)
        Self.addSides(row.values, ratios: { row.ratios($0, .native) }, to: &object)
        if row.values[.floor] != nil {
            object.add("traced_to_floor", raw: Self.summaryJSON(row.ratios(.traced, .floor)))
        }

        if !row.cpu.isEmpty {
            var cpu = JSONObject(indent: false)
            Self.addSides(row.cpu, ratios: { row.ratios($0, .native, cpu: true) }, to: &cpu)
            object.add("cpu_seconds", raw: cpu.text)
        }
        object.add("notes", raw: "[" + row.notes.map(JSONObject.quote).joined(separator: ", ") + "]")
        return object.text
    }

    /// Adds a summary of each side's values and, under `ratio_to_native`,
    /// of each other side's per-round ratios to the native run.
    private static func addSides(_ values: [BenchSide: [Double]], ratios: (BenchSide) -> [Double], to object: inout JSONObject) {
        var ratioObject = JSONObject(indent: false)
        for side in BenchSide.allCases {
            guard let sideValues = values[side] else { continue }
            object.add(side.rawValue, raw: summaryJSON(sideValues))
            if side != .native {
                ratioObject.add(side.rawValue, raw: summaryJSON(ratios(side)))
            }
        }
        object.add("ratio_to_native", raw: ratioObject.text)
    }

    static func summaryJSON(_ values: [Double]) -> String {
        var object = JSONObject(indent: false)
        object.add("median", number: median(values))
        object.add("min", number: values.min() ?? .nan)
        object.add("max", number: values.max() ?? .nan)
        object.add("values", raw: "[" + values.map(JSONObject.number).joined(separator: ", ") + "]")
        return object.text
    }

    // MARK: - Machine facts

    static func kernelRelease() -> String {
        var name = utsname()
        uname(&name)
        return withUnsafeBytes(of: name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }

    /// Now in UTC, as ISO 8601 to the second.
    static func currentDate() -> String {
        var now = time(nil)
        var parts = tm()
        gmtime_r(&now, &parts)
        var buffer = [CChar](repeating: 0, count: 32)
        strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%SZ", &parts)
        return BenchFiles.string(fromBuffer: buffer)
    }
}

/// A JSON object written member by member, in insertion order.
struct JSONObject {
    private var members: [String] = []
    private let indent: Bool

    init(indent: Bool = true) {
        self.indent = indent
    }

    mutating func add(_ key: String, raw value: String) {
        members.append("\(Self.quote(key)): \(value)")
    }

    mutating func add(_ key: String, string value: String) {
        add(key, raw: Self.quote(value))
    }

    mutating func add(_ key: String, number value: Double) {
        add(key, raw: Self.number(value))
    }

    func adding(_ key: String, string value: String) -> JSONObject {
        var copy = self
        copy.add(key, string: value)
        return copy
    }

    var text: String {
        indent ? "{\n  " + members.joined(separator: ",\n  ") + "\n}" : "{" + members.joined(separator: ", ") + "}"
    }

    /// Formats a number, or null for NaN and infinities, which JSON cannot
    /// hold.
    static func number(_ value: Double) -> String {
        guard value.isFinite else { return "null" }
        if value == value.rounded() && abs(value) < 1e15 {
            return String(Int64(value))
        }
        return "\(value)"
    }

    static func quote(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default:
                result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}
