import ArgumentParser
import WeftAgentDaemon

/// `weft-agent apply`: reconcile once, print every change and a summary; exit 1 if any
/// change failed.
struct Apply: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Reconcile once to --desired FILE; print every change and a summary (exit 1 if any change failed).")

    @OptionGroup var common: NodeOptions

    @Flag(name: .customLong("dry-run"), help: "Print what would change; change nothing (loads no filters).")
    var dryRun = false

    func validate() throws {
        guard common.desired != nil else { throw ValidationError("--desired FILE is required") }
    }

    func run() throws {
        let configuration = common.configuration(source: .file(path: common.desired!, keyFile: common.key))
        let state = try DesiredStateFile.load(common.desired!)
        let reconciler = try configuration.makeReconciler(privateKey: try AgentConfiguration.privateKey(file: common.key), dryRun: dryRun)
        let report = dryRun ? try reconciler.plan(state) : try reconciler.apply(state)
        report.forEachChange { print($0) }
        for failure in report.failures { print("failed: \(failure)") }
        for refusal in report.refused { print("refused: \(refusal)") }
        print("revision \(state.revision): \(report.summary(dryRun: dryRun))")
        if !report.succeeded { throw ExitCode(1) }
    }
}
