import Glibc

/// How long and how carefully bench measures: `--quick`, the default, or
/// `--full`.
struct BenchSettings {
    let name: String
    /// Multiplies every row's time budget.
    let budgetScale: Double
    /// Rounds a per-call row runs at least before its medians may count as
    /// settled, and the same for a whole-command row.
    let minimumRounds: Int
    let minimumWholeCommandRounds: Int
    let maximumRounds: Int
    /// Unmeasured rounds of a whole-command row, run first. Only `--full`
    /// has one: before the build, bench has already run the compiler on
    /// its helper programs, and the archives it just wrote are in the page
    /// cache.
    let warmUpRounds: Int
    /// The medians have settled when adding each of the last two rounds
    /// moved the median ratio by at most this fraction.
    let tolerance: Double
    /// The length of one per-call run, in seconds.
    let targetRunSeconds: Double

    static let quick = BenchSettings(name: "quick", budgetScale: 0.35, minimumRounds: 3, minimumWholeCommandRounds: 1, maximumRounds: 15,
                                     warmUpRounds: 0, tolerance: 0.03, targetRunSeconds: 0.05)
    static let standard = BenchSettings(name: "default", budgetScale: 1, minimumRounds: 5, minimumWholeCommandRounds: 3, maximumRounds: 25,
                                        warmUpRounds: 0, tolerance: 0.02, targetRunSeconds: 0.1)
    static let full = BenchSettings(name: "full", budgetScale: 5, minimumRounds: 9, minimumWholeCommandRounds: 7, maximumRounds: 101,
                                    warmUpRounds: 1, tolerance: 0.01, targetRunSeconds: 0.25)
}

/// The reason a row stopped adding rounds.
enum BenchStop: String {
    case settled = "settled"
    case budget = "time budget"
    case maximum = "maximum rounds"
}

/// Everything measured for one row.
struct BenchRowResult {
    let name: String
    let unit: String
    let displayDivisor: Double
    var unavailable: String?
    var notes: [String] = []
    /// Each side's values, in round order.
    var values: [BenchSide: [Double]] = [:]
    /// Each side's CPU seconds, for whole-command rows.
    var cpu: [BenchSide: [Double]] = [:]
    var stop: BenchStop?
    var seconds = 0.0

    init(name: String, unit: String, displayDivisor: Double, unavailable: String? = nil) {
        self.name = name
        self.unit = unit
        self.displayDivisor = displayDivisor
        self.unavailable = unavailable
    }

    var rounds: Int { values[.traced]?.count ?? 0 }

    /// Per-round ratios `numerator / denominator`, in round order.
    func ratios(_ numerator: BenchSide, _ denominator: BenchSide, cpu useCPU: Bool = false) -> [Double] {
        let source = useCPU ? cpu : values
        guard let top = source[numerator], let bottom = source[denominator] else { return [] }
        return zip(top, bottom).map { $0 / $1 }
    }
}

/// Runs the rounds of one row: each round runs every side once, in an order
/// that rotates from round to round so that a slow drift of the machine's
/// load falls on all sides alike.
struct BenchMeasurement {
    let settings: BenchSettings
    /// Receives a short description of what runs now.
    let progress: (String) -> Void

    func measure(_ workload: BenchWorkload) throws(BenchError) -> BenchRowResult {
        var result = BenchRowResult(name: workload.name, unit: workload.unit, displayDivisor: workload.displayDivisor)
        result.notes = workload.notes
        let start = Self.now()
        let budget = workload.budget * settings.budgetScale
        let minimumRounds = workload.isWholeCommand ? settings.minimumWholeCommandRounds : settings.minimumRounds

        let warmUps = workload.isWholeCommand ? settings.warmUpRounds : 1
        for round in 0..<warmUps {
            for side in workload.sides {
                progress("warm-up\(warmUps > 1 ? " \(round + 1)" : ""), \(side.title) run")
                try workload.warmUp(side)
                try Self.checkStopRequest()
            }
        }

        var lastRoundSeconds = 0.0
        while true {
            let round = result.rounds
            if round >= settings.maximumRounds {
                result.stop = .maximum
                break
            }
            if round >= 1 && Self.now() - start + lastRoundSeconds > budget {
                result.stop = .budget
                break
            }

            let roundStart = Self.now()
            let order = (0..<workload.sides.count).map { workload.sides[($0 + round) % workload.sides.count] }
            var samples: [BenchSide: BenchSample] = [:]
            for side in order {
                progress("round \(round + 1), \(side.title) run\(Self.describeRatio(result))")
                samples[side] = try workload.measure(side)
                try Self.checkStopRequest()
            }
            for (side, sample) in samples {
                result.values[side, default: []].append(sample.value)
                if let cpu = sample.cpu {
                    result.cpu[side, default: []].append(cpu)
                }
            }
            lastRoundSeconds = Self.now() - roundStart

            if result.rounds >= minimumRounds && isSettled(result, sides: workload.sides) {
                result.stop = .settled
                break
            }
        }
        result.seconds = Self.now() - start
        return result
    }

    /// Settled: the median ratio of every traced side to native, and of
    /// traced to floor where there is a floor, moved by at most the
    /// tolerance with each of the last two rounds.
    func isSettled(_ result: BenchRowResult, sides: [BenchSide]) -> Bool {
        var series = sides.filter { $0 != .native && $0 != .floor }.map { result.ratios($0, .native) }
        if sides.contains(.floor) {
            series.append(result.ratios(.traced, .floor))
        }
        return series.allSatisfy { ratios in
            guard ratios.count >= 3 else { return false }
            let latest = median(ratios)
            let previous = median(Array(ratios.dropLast()))
            let beforeThat = median(Array(ratios.dropLast(2)))
            return abs(latest - previous) <= settings.tolerance * latest && abs(latest - beforeThat) <= settings.tolerance * latest
        }
    }

    static func describeRatio(_ result: BenchRowResult) -> String {
        let ratios = result.ratios(.traced, .native)
        guard !ratios.isEmpty else { return "" }
        return ", traced/native so far \(formatSignificant(median(ratios), digits: 3))"
    }

    static func checkStopRequest() throws(BenchError) {
        if let signal = BenchProcess.stopRequest {
            throw BenchError(message: "stopped by signal \(signal)")
        }
    }

    static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}

/// Returns the median: the middle value, or the mean of the middle two
/// for an even count.
func median(_ values: [Double]) -> Double {
    guard !values.isEmpty else { return .nan }
    let sorted = values.sorted()
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

/// Formats with `digits` significant digits, as `%.*g` would but without
/// an exponent for the magnitudes bench prints.
func formatSignificant(_ value: Double, digits: Int) -> String {
    guard value.isFinite else { return "-" }
    guard value != 0 else { return "0" }
    let magnitude = Int(floor(log10(abs(value))))
    let decimals = max(0, digits - 1 - magnitude)
    return formatFixed(value, decimals: decimals)
}
