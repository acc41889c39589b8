import WeftAgentDaemon

/// `weft-agent apply`: reconcile once, print every change and a summary; exit 1 if any
/// change failed.
func apply(_ options: Options) throws -> Int32 {
    guard case .file(let path, let keyFile) = options.configuration.source else {
        throw UsageError(message: "apply takes --desired FILE (the controller's state is for `run`)")
    }
    let state = try DesiredStateFile.load(path)
    let reconciler = try options.configuration.makeReconciler(privateKey: try AgentConfiguration.privateKey(file: keyFile),
                                                             dryRun: options.dryRun)
    let report = options.dryRun ? try reconciler.plan(state) : try reconciler.apply(state)
    if let device = report.device { print(device) }
    for change in report.xfrmChanges where !change.description.hasPrefix("delete") { print(change) }
    for change in report.changes { print(change) }
    for change in report.xfrmChanges where change.description.hasPrefix("delete") { print(change) }
    for (change, error) in report.failures { print("failed: \(change): \(error)") }
    for (change, reason) in report.refused { print("refused: \(change): \(reason)") }
    print("revision \(state.revision): \(report.summary(dryRun: options.dryRun))")
    return report.succeeded ? 0 : 1
}
