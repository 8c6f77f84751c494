public import Foundation

/// Starts, inspects and stops a lab plan over the OpenSSH client: one `ssh HOST sh -s` per host
/// and action, its script on standard input, so nothing but sshd and a POSIX shell is needed
/// on the lab machines, and no argument passes through two shells.
///
/// Each host keeps what `up` started in `<workdir>/run/<process>.pid`, so `status` and `down`
/// find exactly those processes (never others by name); logs stay in `<workdir>/logs` until
/// `down` collects them into the operator's folder.
public struct LabRunner: Sendable {
    public let plan: LabPlan
    /// The operator's folder: `keys/` (made by `up` under CURVE) and `logs/` (collected by `down`).
    public let localFolder: URL
    public let ssh: URL

    public init(plan: LabPlan, localFolder: URL, ssh: URL = URL(fileURLWithPath: "/usr/bin/ssh")) {
        self.plan = plan
        self.localFolder = localFolder
        self.ssh = ssh
    }

    /// One host's answer: what its script printed, and whether it succeeded.
    public struct HostResult: Sendable {
        public let host: String
        public let status: Int32
        public let output: String
    }

    var keyFolder: URL { localFolder.appendingPathComponent("keys", isDirectory: true) }
    var logFolder: URL { localFolder.appendingPathComponent("logs", isDirectory: true) }

    /// Makes the run's keys (under CURVE), copies each host only the secret keys its processes
    /// use, and starts every process not already running.
    public func up() throws -> [HostResult] {
        var keys: KeyDirectory?
        if plan.curve {
            let parties = plan.parties.map { (name: $0.name, role: $0.role) }
            try? FileManager.default.removeItem(at: keyFolder)
            keys = try KeyDirectory.create(at: keyFolder.path, parties: parties)
        }
        return try plan.hosts.map { host in
            var script = [
                "set -e", "umask 077",
                "mkdir -p \(q(plan.workdir))/logs \(q(plan.workdir))/run \(q(plan.workdir))/keys \(q(plan.workdir))/state",
            ]
            if let keys {
                script.append(try heredoc(file: keys.enrolmentPath, to: "\(plan.workdir)/keys/enrolment.txt"))
                for name in host.processes.flatMap(\.keys) {
                    script.append(
                        try heredoc(file: keys.secretKeyPath(of: name), to: "\(plan.workdir)/keys/\(name).key")
                    )
                }
            }
            script.append("cd \(q(plan.workdir))")
            for process in host.processes {
                let pid = "run/\(process.name).pid"
                let command = ([plan.binary] + process.arguments).map(LabPlan.shellQuoted).joined(separator: " ")
                script.append(
                    """
                    if [ -f \(pid) ] && kill -0 "$(cat \(pid))" 2>/dev/null; then echo "\(process.name) already running pid $(cat \(pid))"; \
                    else nohup \(command) > logs/\(process.name).log 2>&1 < /dev/null & echo $! > \(pid); echo "\(process.name) started pid $!"; fi
                    """
                )
            }
            return try run(script, on: host)
        }
    }

    /// Each process alive or not, with the last round its log reports.
    public func status() throws -> [HostResult] {
        try plan.hosts.map { host in
            var script = ["cd \(q(plan.workdir)) 2>/dev/null || { echo 'nothing started here'; exit 0; }"]
            for process in host.processes {
                let pid = "run/\(process.name).pid"
                let log = "logs/\(process.name).log"
                script.append(
                    """
                    if [ -f \(pid) ] && kill -0 "$(cat \(pid))" 2>/dev/null; then state=alive; else state=dead; fi; \
                    last=$(grep -o 'round.id=[0-9]*' \(log) 2>/dev/null | tail -n 1); \
                    echo "\(process.name) $state ${last:-round.id=none}"
                    """
                )
            }
            return try run(script, on: host)
        }
    }

    /// Stops what `up` started (SIGTERM, SIGKILL after 10 s) and collects every log into `logs/`.
    public func down() throws -> [HostResult] {
        try FileManager.default.createDirectory(at: logFolder, withIntermediateDirectories: true)
        return try plan.hosts.map { host in
            var script = ["cd \(q(plan.workdir)) 2>/dev/null || { echo 'nothing started here'; exit 0; }"]
            let pids = host.processes.map { "run/\($0.name).pid" }
            for pid in pids { script.append("[ -f \(pid) ] && kill -TERM \"$(cat \(pid))\" 2>/dev/null || true") }
            script.append(
                """
                n=0; while [ $n -lt 100 ]; do alive=0; \
                for p in \(pids.joined(separator: " ")); do [ -f $p ] && kill -0 "$(cat $p)" 2>/dev/null && alive=1; done; \
                [ $alive -eq 0 ] && break; n=$((n+1)); sleep 0.1; done
                """
            )
            for (process, pid) in zip(host.processes, pids) {
                script.append(
                    "if [ -f \(pid) ] && kill -0 \"$(cat \(pid))\" 2>/dev/null; then kill -KILL \"$(cat \(pid))\"; echo \"\(process.name) killed\"; "
                        + "else echo \"\(process.name) stopped\"; fi; rm -f \(pid)"
                )
            }
            let result = try run(script, on: host)
            for process in host.processes {
                let log = try run(["cat \(q(plan.workdir))/logs/\(process.name).log 2>/dev/null || true"], on: host)
                try Data(log.output.utf8).write(
                    to: logFolder.appendingPathComponent("\(host.name)-\(process.name).log")
                )
            }
            return result
        }
    }

    private func q(_ text: String) -> String { LabPlan.shellQuoted(text) }

    /// A here-document writing `file`'s contents on the remote side (quoted: nothing expands).
    ///
    /// Written to a temporary name and renamed, so a process already running there (whose
    /// enrolment watcher re-reads the file on change) never reads it half written; hosts that
    /// share a filesystem (the namespace test) would otherwise race.
    private func heredoc(file: String, to remote: String) throws -> String {
        let text = try String(contentsOfFile: file, encoding: .utf8)
        guard !text.contains("FEDPULSE_END_OF_FILE") else { throw LabError("\(file) holds the here-document marker") }
        let temporary = remote + ".part-" + UUID().uuidString
        return
            "cat > \(q(temporary)) <<'FEDPULSE_END_OF_FILE'\n\(text.hasSuffix("\n") ? text : text + "\n")FEDPULSE_END_OF_FILE\n"
            + "mv -f \(q(temporary)) \(q(remote))"
    }

    /// Runs `script` with `sh -s` on `host` over ssh and waits for it.
    private func run(_ script: [String], on host: LabPlan.Host) throws -> HostResult {
        let process = Foundation.Process()
        process.executableURL = ssh
        process.arguments = host.sshOptions + [host.sshDestination, "sh", "-s"]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        try process.run()
        input.fileHandleForWriting.write(Data((script.joined(separator: "\n") + "\n").utf8))
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return HostResult(
            host: host.name,
            status: process.terminationStatus,
            output: String(decoding: data, as: UTF8.self)
        )
    }
}
