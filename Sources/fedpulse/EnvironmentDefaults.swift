import Foundation
import ArgumentParser

/// Lets `FEDPULSE_<FLAG>` environment variables stand in for flags not given on the command line,
/// so a container or a lab launcher can configure a role without templating its command line.
///
/// `FEDPULSE_ROUNDS=20` acts as `--rounds 20` for a subcommand that has `--rounds`; flags given
/// explicitly win, and variables naming flags the subcommand lacks are ignored.
enum EnvironmentDefaults {
    static func apply(to arguments: [String], environment: [String: String], help: (String) -> String?) -> [String] {
        guard let subcommand = arguments.first, !subcommand.hasPrefix("-"), let helpText = help(subcommand) else {
            return arguments
        }
        var result = arguments
        for (key, value) in environment.sorted(by: { $0.key < $1.key }) where key.hasPrefix("FEDPULSE_") {
            let flag = "--" + key.dropFirst("FEDPULSE_".count).lowercased().replacingOccurrences(of: "_", with: "-")
            guard !arguments.contains(flag), !arguments.contains(where: { $0.hasPrefix(flag + "=") }) else { continue }
            let declaresOption = helpText.contains("\(flag) <")
            let declaresFlag = helpText.range(of: "\(flag)\n") != nil || helpText.contains("\(flag) ")
            if declaresOption {
                result += [flag, value]
            } else if declaresFlag, ["1", "true", "yes"].contains(value.lowercased()) {
                result.append(flag)
            }
        }
        return result
    }
}
