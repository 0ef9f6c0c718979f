import Glibc

/// The C project of the build benchmark, byte for byte what
/// `Benchmarks/generate-c-project` writes for the same seed. It has one
/// file of shared helpers, 48 library modules and 3 programs of 4 files
/// each (61 C files), 52 headers, and a Makefile whose `install` target
/// gives the installed files to INSTALL_OWNER:INSTALL_GROUP.
/// `remainroot bench` runs on machines without the repository or Python, so
/// the generator lives here too, and the end-to-end tests check that both
/// write the same files.
struct BenchCProject {
    static let moduleCount = 48
    static let programs: [(name: String, modules: Range<Int>)] = [
        ("pack", 0..<20),
        ("scan", 16..<36),
        ("report", 30..<48),
    ]
    static let helpersPerProgram = 3

    /// The files to write, by path relative to the project's root.
    private(set) var files: [(path: String, text: String)] = []
    /// The number of C files among them.
    private(set) var cFileCount = 0

    /// Generates the project for `seed`, drawing the random parts in the
    /// same order as the Python generator does.
    init(seed: UInt32 = 1) {
        var random = PythonRandom(seed: seed)
        files.append(("include/types.h", Self.typesHeader))
        files.append(("src/core/common.c", Self.commonSource))
        var coreSources = ["src/core/common.c"]
        cFileCount = 1

        for index in 0..<Self.moduleCount {
            let name = Self.moduleName(index)
            files.append(("include/\(name).h", Self.moduleHeader(index)))
            files.append(("src/core/\(name).c", Self.moduleSource(index, random: &random)))
            coreSources.append("src/core/\(name).c")
            cFileCount += 1
        }

        var programRules: [String] = []
        for (program, modules) in Self.programs {
            files.append(("include/\(program).h", Self.programHeader(program)))
            files.append(("src/\(program)/main.c", Self.programMainSource(program)))
            var objects = ["build/obj/\(program)/main.o"]
            cFileCount += 1
            for (helper, part) in Self.splitEvenly(Array(modules), parts: Self.helpersPerProgram).enumerated() {
                files.append(("src/\(program)/part\(helper).c", Self.programHelperSource(program, helper: helper, modules: part, random: &random)))
                objects.append("build/obj/\(program)/part\(helper).o")
                cFileCount += 1
            }
            programRules.append(Self.programRule(program, objects: objects))
        }

        files.append(("Makefile", Self.makefile(coreSources: coreSources, programRules: programRules)))
        files.append(("README", "A generated C project for remainroot's build benchmark.\n"))
    }

    /// Writes every file under `root`, creating directories as needed.
    func write(to root: String) throws(BenchError) {
        for (path, text) in files {
            try BenchFiles.write(text, to: root + "/" + path)
        }
    }

    // MARK: - Templates

    static func moduleName(_ index: Int) -> String {
        index < 10 ? "mod0\(index)" : "mod\(index)"
    }

    static func splitEvenly(_ items: [Int], parts: Int) -> [[Int]] {
        let size = (items.count + parts - 1) / parts
        return stride(from: 0, to: items.count, by: size).map { Array(items[$0..<min($0 + size, items.count)]) }
    }

    static func moduleHeader(_ index: Int) -> String {
        let name = moduleName(index)
        let guardName = "BENCHPROJ_MOD\(name.dropFirst(3))_H"
        return """
            #ifndef \(guardName)
            #define \(guardName)

            #include "types.h"

            double \(name)_run(uint32_t seed, struct summary *summary);
            int \(name)_describe(char *buffer, size_t size);

            #endif

            """
    }

    /// Returns a random C expression over the doubles a, b and c.
    static func arithmeticExpression(_ random: inout PythonRandom, depth: Int) -> String {
        if depth == 0 {
            // Python builds the list before it chooses, so the constant is
            // drawn even when a variable is chosen.
            let constant = formatFixed(random.uniform(0.5, 9.5), decimals: 3)
            return random.choice(["a", "b", "c", constant])
        }
        let left = arithmeticExpression(&random, depth: depth - 1)
        let right = arithmeticExpression(&random, depth: depth - 1)
        let operatorText = random.choice(["+", "-", "*"])
        if random.random() < 0.2 {
            return "(\(left) / (1.0 + fabs(\(right))))"
        }
        return "(\(left) \(operatorText) \(right))"
    }

    static func moduleSource(_ index: Int, random: inout PythonRandom) -> String {
        let name = moduleName(index)
        let tableSize = random.choice([16, 24, 32])
        let transformCount = random.randint(3, 5)
        var lines = [
            "#include <math.h>",
            "#include <stdio.h>",
            "#include <stdlib.h>",
            "#include <string.h>",
            "",
            "#include \"\(name).h\"",
            "",
            "struct \(name)_state {",
            "    double table[\(tableSize)];",
            "    int64_t counts[\(tableSize)];",
            "    struct record records[64];",
            "    uint32_t random_state;",
            "    char label[48];",
            "};",
            "",
        ]

        for transform in 0..<transformCount {
            let cases = random.randint(4, 8)
            lines += [
                "static double \(name)_transform\(transform)(struct \(name)_state *state, const struct record *record)",
                "{",
                "    double result = 0.0;",
                "    for (size_t i = 0; i < RECORD_VALUES; i++) {",
                "        double a = record->values[i];",
                "        double b = state->table[(record->id + i) % \(tableSize)];",
                "        double c = (double)record->weight;",
                "        switch ((record->id + (uint32_t)i * \(random.randint(3, 97))u) % \(cases)u) {",
            ]
            for caseIndex in 0..<cases {
                let depth = random.randint(1, 3)
                let expression = arithmeticExpression(&random, depth: depth)
                lines += [
                    "        case \(caseIndex):",
                    "            result += \(expression);",
                    "            state->counts[\(caseIndex) % \(tableSize)]++;",
                    "            break;",
                ]
            }
            lines += [
                "        default:",
                "            result -= a + b + c;",
                "        }",
                "    }",
                "    state->table[record->id % \(tableSize)] = tanh(result / \(random.randint(2, 64)).0);",
                "    return result;",
                "}",
                "",
            ]
        }

        lines += [
            "static int \(name)_compare(const void *left, const void *right)",
            "{",
            "    const struct record *x = left;",
            "    const struct record *y = right;",
            "    if (x->weight != y->weight)",
            "        return x->weight < y->weight ? -1 : 1;",
            "    return strcmp(x->name, y->name);",
            "}",
            "",
            "static uint32_t \(name)_hash(const char *text)",
            "{",
            "    uint32_t hash = \(random.randint(1, 1 << 31))u;",
            #"    for (size_t i = 0; text[i] != '\0'; i++)"#,
            "        hash = rotate_left(hash ^ (uint8_t)text[i], \(random.randint(3, 13))) * 2654435761u;",
            "    return hash;",
            "}",
            "",
            "static void \(name)_init(struct \(name)_state *state, uint32_t seed)",
            "{",
            "    memset(state, 0, sizeof *state);",
            "    state->random_state = seed ^ \(random.randint(1, 1 << 31))u;",
            "    if (state->random_state == 0)",
            "        state->random_state = 1;",
            "    for (size_t i = 0; i < \(tableSize); i++)",
        ]
        let frequency = formatFixed(random.uniform(0.1, 1.0), decimals: 4)
        lines += [
            "        state->table[i] = sin((double)i * \(frequency)) * \(random.randint(2, 50)).0;",
            "    for (size_t i = 0; i < 64; i++)",
            "        record_fill(&state->records[i], (uint32_t)i, &state->random_state);",
            "    snprintf(state->label, sizeof state->label, \"\(name)/%08x\", seed);",
            "}",
            "",
            "double \(name)_run(uint32_t seed, struct summary *summary)",
            "{",
            "    struct \(name)_state *state = malloc(sizeof *state);",
            "    if (state == NULL)",
            "        return 0.0;",
            "    \(name)_init(state, seed);",
            "    qsort(state->records, 64, sizeof state->records[0], \(name)_compare);",
            "    double total = 0.0;",
            "    for (int round = 0; round < \(random.randint(2, 6)); round++) {",
            "        for (size_t i = 0; i < 64; i++) {",
            "            const struct record *record = &state->records[i];",
            "            double value = 0.0;",
        ]
        for transform in 0..<transformCount {
            lines.append("            value += \(name)_transform\(transform)(state, record);")
        }
        lines += [
            "            value += (double)(\(name)_hash(record->name) % 1000u) / 1000.0;",
            "            summary_add(summary, value);",
            "            total += value;",
            "        }",
            "    }",
            "    free(state);",
            "    return total;",
            "}",
            "",
            "int \(name)_describe(char *buffer, size_t size)",
            "{",
            "    return snprintf(buffer, size, \"\(name): \(transformCount) transforms, table of \(tableSize)\");",
            "}",
            "",
        ]
        return lines.joined(separator: "\n")
    }

    static func programHelperSource(_ program: String, helper: Int, modules: [Int], random: inout PythonRandom) -> String {
        var calls: [String] = []
        for module in modules {
            let name = moduleName(module)
            calls += [
                "    total += \(name)_run(seed + \(random.randint(1, 999))u, summary);",
                "    if (verbose && \(name)_describe(line, sizeof line) > 0)",
                #"        fprintf(stderr, "%s\n", line);"#,
            ]
        }
        var lines = [
            "#include <stdio.h>",
            "#include <string.h>",
            "",
            "#include \"\(program).h\"",
        ]
        lines += modules.map { "#include \"\(moduleName($0)).h\"" }
        lines += [
            "",
            "double \(program)_part\(helper)(uint32_t seed, int verbose, struct summary *summary)",
            "{",
            "    char line[128];",
            "    double total = 0.0;",
            "    memset(line, 0, sizeof line);",
        ]
        lines += calls
        lines += [
            "    return total;",
            "}",
            "",
        ]
        return lines.joined(separator: "\n")
    }

    static func programHeader(_ program: String) -> String {
        let guardName = "BENCHPROJ_\(program.uppercased())_H"
        var lines = [
            "#ifndef \(guardName)",
            "#define \(guardName)",
            "",
            "#include \"types.h\"",
            "",
        ]
        lines += (0..<helpersPerProgram).map { "double \(program)_part\($0)(uint32_t seed, int verbose, struct summary *summary);" }
        lines += ["", "#endif", ""]
        return lines.joined(separator: "\n")
    }

    static func programMainSource(_ program: String) -> String {
        var lines = [
            "#include <stdio.h>",
            "#include <stdlib.h>",
            "#include <string.h>",
            "",
            "#include \"\(program).h\"",
            "",
            "int main(int argc, char **argv)",
            "{",
            "    uint32_t seed = 1;",
            "    int verbose = 0;",
            "    for (int i = 1; i < argc; i++) {",
            "        if (strcmp(argv[i], \"-v\") == 0)",
            "            verbose = 1;",
            "        else",
            "            seed = (uint32_t)strtoul(argv[i], NULL, 10);",
            "    }",
            "    struct summary summary;",
            "    summary_reset(&summary);",
            "    double total = 0.0;",
        ]
        lines += (0..<helpersPerProgram).map { "    total += \(program)_part\($0)(seed, verbose, &summary);" }
        lines += [
            #"    printf("\#(program): %zu values, total %.3f, min %.3f, max %.3f, checksum %016llx\n","#,
            "           summary.count, total, summary.minimum, summary.maximum,",
            "           (unsigned long long)summary.checksum);",
            "    return 0;",
            "}",
            "",
        ]
        return lines.joined(separator: "\n")
    }

    static func programRule(_ program: String, objects: [String]) -> String {
        """
        \(program)_OBJECTS = \(objects.joined(separator: " "))
        build/bin/\(program): $(\(program)_OBJECTS) build/libcore.a
        \t@mkdir -p $(dir $@)
        \t$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

        """
    }

    static func makefile(coreSources: [String], programRules: [String]) -> String {
        let sources = coreSources.joined(separator: " \\\n\t")
        let programNames = programs.map(\.name).joined(separator: " ")
        return """
            # Generated by generate-c-project. `make all` builds build/libcore.a and
            # the programs; `make install` copies them into $(DESTDIR)$(PREFIX) and
            # gives them to INSTALL_OWNER:INSTALL_GROUP, as a package build does.
            # Set INSTALL_OWNER= and INSTALL_GROUP= (empty) to install without
            # changing owners, which is what an unprivileged user namespace allows.

            CC ?= cc
            CFLAGS ?= -O2 -g -Wall -Wextra
            CPPFLAGS += -Iinclude
            LDLIBS += -lm
            AR ?= ar
            INSTALL ?= install

            PREFIX ?= /usr/local
            DESTDIR ?= $(CURDIR)/stage
            BINDIR = $(PREFIX)/bin
            LIBDIR = $(PREFIX)/lib
            INCLUDEDIR = $(PREFIX)/include/benchproj
            DOCDIR = $(PREFIX)/share/doc/benchproj

            INSTALL_OWNER ?= 1000
            INSTALL_GROUP ?= 1000
            OWNER_FLAGS = $(if $(INSTALL_OWNER),-o $(INSTALL_OWNER)) $(if $(INSTALL_GROUP),-g $(INSTALL_GROUP))

            CORE_SOURCES = \(sources)
            CORE_OBJECTS = $(CORE_SOURCES:src/%.c=build/obj/%.o)
            PROGRAMS = \(programNames)

            \(programRules.joined(separator: "\n"))
            .PHONY: all install clean

            all: build/libcore.a $(addprefix build/bin/,$(PROGRAMS))

            build/obj/%.o: src/%.c
            \t@mkdir -p $(dir $@)
            \t$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

            build/libcore.a: $(CORE_OBJECTS)
            \trm -f $@
            \t$(AR) rcs $@ $^

            install: all
            \t$(INSTALL) -d -m 755 $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(DOCDIR)
            \t$(INSTALL) -m 755 $(OWNER_FLAGS) $(addprefix build/bin/,$(PROGRAMS)) $(DESTDIR)$(BINDIR)/
            \t$(INSTALL) -m 644 $(OWNER_FLAGS) build/libcore.a $(DESTDIR)$(LIBDIR)/
            \tfor header in include/*.h; do \\
            \t\t$(INSTALL) -m 644 $(OWNER_FLAGS) $$header $(DESTDIR)$(INCLUDEDIR)/ || exit 1; \\
            \tdone
            \t$(INSTALL) -m 644 README $(DESTDIR)$(DOCDIR)/
            \t$(if $(INSTALL_OWNER),chown -R $(INSTALL_OWNER):$(INSTALL_GROUP) $(DESTDIR)$(DOCDIR))

            clean:
            \trm -rf build stage

            """
    }

    static let typesHeader = """
        #ifndef BENCHPROJ_TYPES_H
        #define BENCHPROJ_TYPES_H

        #include <stddef.h>
        #include <stdint.h>

        #define RECORD_NAME_MAX 32
        #define RECORD_VALUES 8

        struct record {
            uint32_t id;
            int32_t weight;
            double values[RECORD_VALUES];
            char name[RECORD_NAME_MAX];
        };

        struct summary {
            double total;
            double minimum;
            double maximum;
            uint64_t checksum;
            size_t count;
        };

        static inline uint32_t rotate_left(uint32_t value, unsigned shift)
        {
            shift &= 31u;
            return shift == 0 ? value : (value << shift) | (value >> (32u - shift));
        }

        static inline uint32_t next_random(uint32_t *state)
        {
            uint32_t x = *state;
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            *state = x;
            return x;
        }

        void summary_reset(struct summary *summary);
        void summary_add(struct summary *summary, double value);
        void record_fill(struct record *record, uint32_t id, uint32_t *state);

        #endif

        """

    static let commonSource = """
        #include <float.h>
        #include <stdio.h>
        #include <string.h>

        #include "types.h"

        void summary_reset(struct summary *summary)
        {
            memset(summary, 0, sizeof *summary);
            summary->minimum = DBL_MAX;
            summary->maximum = -DBL_MAX;
        }

        void summary_add(struct summary *summary, double value)
        {
            summary->total += value;
            if (value < summary->minimum)
                summary->minimum = value;
            if (value > summary->maximum)
                summary->maximum = value;
            summary->checksum = summary->checksum * 1099511628211u + (uint64_t)(int64_t)(value * 1000.0);
            summary->count++;
        }

        void record_fill(struct record *record, uint32_t id, uint32_t *state)
        {
            record->id = id;
            record->weight = (int32_t)(next_random(state) % 2001u) - 1000;
            for (size_t i = 0; i < RECORD_VALUES; i++)
                record->values[i] = (double)(next_random(state) % 100000u) / 997.0;
            snprintf(record->name, sizeof record->name, "rec-%08x", next_random(state));
        }

        """
}

/// Python's `random.Random(seed)` for a small non-negative integer seed:
/// MT19937 seeded by `init_by_array` with the seed as a one-word key, and
/// the draws the generator uses (`random`, `uniform`, `randint` and
/// `choice`), each consuming the same words as CPython 3.11 does.
struct PythonRandom {
    private var state = [UInt32](repeating: 0, count: 624)
    private var index = 624

    init(seed: UInt32) {
        // init_genrand(19650218), then init_by_array([seed]).
        state[0] = 19_650_218
        for i in 1..<624 {
            state[i] = 1_812_433_253 &* (state[i - 1] ^ (state[i - 1] >> 30)) &+ UInt32(i)
        }
        var i = 1
        for _ in 0..<624 {
            state[i] = (state[i] ^ ((state[i - 1] ^ (state[i - 1] >> 30)) &* 1_664_525)) &+ seed
            i += 1
            if i >= 624 {
                state[0] = state[623]
                i = 1
            }
        }
        for _ in 0..<623 {
            state[i] = (state[i] ^ ((state[i - 1] ^ (state[i - 1] >> 30)) &* 1_566_083_941)) &- UInt32(i)
            i += 1
            if i >= 624 {
                state[0] = state[623]
                i = 1
            }
        }
        state[0] = 0x8000_0000
    }

    /// Returns the next tempered 32-bit output (`genrand_uint32`).
    mutating func next() -> UInt32 {
        if index >= 624 {
            regenerate()
        }
        var y = state[index]
        index += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C_5680
        y ^= (y << 15) & 0xEFC6_0000
        y ^= y >> 18
        return y
    }

    private mutating func regenerate() {
        for k in 0..<624 {
            let y = (state[k] & 0x8000_0000) | (state[(k + 1) % 624] & 0x7FFF_FFFF)
            var value = state[(k + 397) % 624] ^ (y >> 1)
            if y & 1 != 0 {
                value ^= 0x9908_B0DF
            }
            state[k] = value
        }
        index = 0
    }

    /// `random()`: 53 random bits as a double in [0, 1).
    mutating func random() -> Double {
        let high = Double(next() >> 5)
        let low = Double(next() >> 6)
        return (high * 67_108_864.0 + low) * (1.0 / 9_007_199_254_740_992.0)
    }

    mutating func uniform(_ low: Double, _ high: Double) -> Double {
        low + (high - low) * random()
    }

    /// `_randbelow`: draws `bit_length(n)` bits until the value is below
    /// `n`. `n` is at most 2^32 here.
    mutating func below(_ n: Int) -> Int {
        let bits = Int.bitWidth - n.leadingZeroBitCount
        while true {
            let value = Int(next() >> UInt32(32 - bits))
            if value < n {
                return value
            }
        }
    }

    mutating func randint(_ low: Int, _ high: Int) -> Int {
        low + below(high - low + 1)
    }

    mutating func choice<Element>(_ elements: [Element]) -> Element {
        elements[below(elements.count)]
    }
}

/// Formats like printf's `%.Nf` (and Python's `:.Nf`): the exact binary
/// value, correctly rounded.
func formatFixed(_ value: Double, decimals: Int) -> String {
    var buffer = [CChar](repeating: 0, count: 64)
    let format = "%.\(decimals)f"
    _ = withVaList([value]) { arguments in
        vsnprintf(&buffer, buffer.count, format, arguments)
    }
    return BenchFiles.string(fromBuffer: buffer)
}
