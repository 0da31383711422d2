import Foundation
import HTTPTypes

/// What went wrong in the approval workflow: a submission, task, process or delegation that
/// does not exist, a record already under approval or locked by one, a step that is not the
/// caller's to decide or not open. Mapped to HTTP by ``ErrorMiddleware``; every code has a
/// text under `errors.<code>` in both locale files.
/// ```swift
/// guard task.status == "pending" else { throw ApprovalError.alreadyDecided(.step(task.status)) }   // 409
/// ```
public enum ApprovalError: DomainError, Equatable {
    /// The argument names what was looked up as the message shows it: an id, or `'text'`
    /// from the URL.
    case approvalNotFound(String)
    case taskNotFound(String)
    case processNotFound(String)
    /// nil: no delegation with this id that the caller may remove; otherwise what the URL named.
    case delegationNotFound(String?)
    /// `POST …/tasks/{id}/{decision}` with something other than approve, reject or return.
    case unknownDecision
    /// The record already has a pending submission.
    case alreadyPending
    /// The record's last submission was approved or rejected: it cannot be submitted again.
    case alreadyFinished(approved: Bool)
    /// No active process's condition matches the record.
    case noProcess(entity: String)
    /// A step's approver rule names nobody (and the step may not be skipped).
    case noApprover(step: String, reason: String)
    /// The caller is neither the task's approver nor standing in for them today.
    case notYourTask
    /// Only the submitter may withdraw.
    case notSubmitter
    /// Only administrators set a delegate for someone else.
    case delegationForOthers
    /// The task's step is still waiting for an earlier one (`step` counts from 1).
    case stepNotReached(step: Int)
    case alreadyDecided(Decided)
    /// A user write to a record under approval (pending; approved; rejected, for updates).
    case locked(ApprovalState)
    /// The process was saved by someone else since the caller read it.
    case processVersionConflict(current: Int, sent: Int)

    /// What was decided already.
    public enum Decided: Sendable, Equatable {
        /// The task, with its status (`approved`, `skipped`, `cancelled`…).
        case step(String)
        /// The whole submission.
        case approval(ApprovalState)
    }

    public var atriumError: AtriumError {
        switch self {
        case .approvalNotFound(let reference):
            AtriumError(status: .notFound, code: "approval_not_found", message: "no approval \(reference)")
        case .taskNotFound(let reference):
            AtriumError(status: .notFound, code: "task_not_found", message: "no approval task \(reference)")
        case .processNotFound(let reference):
            AtriumError(status: .notFound, code: "process_not_found", message: "no approval process \(reference)")
        case .delegationNotFound(let reference):
            AtriumError(status: .notFound, code: "delegation_not_found", message: reference.map { "no delegation \($0)" } ?? "no such delegation of yours")
        case .unknownDecision:
            AtriumError(status: .notFound, code: "not_found", message: "decide with approve, reject or return")
        case .alreadyPending:
            AtriumError(status: .conflict, code: "approval_pending", message: "this record is already waiting for approval")
        case .alreadyFinished(let approved):
            AtriumError(status: .conflict, code: "approval_finished",
                        message: approved ? "this record was already approved" : "this record was rejected; create a new one instead")
        case .noProcess(let entity):
            AtriumError(status: .unprocessableContent, code: "no_process", message: "no active approval process applies to this \(entity)")
        case .noApprover(let step, let reason):
            AtriumError(status: .unprocessableContent, code: "no_approver", message: "approval step \(step) has no approver: \(reason)")
        case .notYourTask:
            AtriumError(status: .forbidden, code: "not_your_task", message: "only the approver of this step (or their delegate) may decide it")
        case .notSubmitter:
            AtriumError(status: .forbidden, code: "not_submitter", message: "only the submitter may withdraw this approval")
        case .delegationForOthers:
            AtriumError(status: .forbidden, code: "admin_only", message: "only administrators may set a delegate for someone else")
        case .stepNotReached(let step):
            AtriumError(status: .conflict, code: "not_current_step", message: "this approval has not reached step \(step) yet")
        case .alreadyDecided(.step(let status)):
            AtriumError(status: .conflict, code: "already_decided", message: "this step was already decided (\(status))")
        case .alreadyDecided(.approval(let state)):
            AtriumError(status: .conflict, code: "already_decided", message: "this approval is already \(state.rawValue)")
        case .locked(let state):
            Self.lockedError(state)
        case .processVersionConflict(let current, let sent):
            AtriumError(status: .conflict, code: "version_conflict",
                        message: "this process was changed by someone else: current version is \(current), you sent \(sent)", field: "version")
        }
    }

    /// The lock's finer page text is `validation.approvals.locked_<state>` (pages that catch
    /// the record engine's errors show it inline).
    private static func lockedError(_ state: ApprovalState) -> AtriumError {
        let message = switch state {
        case .pending: "this record is waiting for approval and cannot be changed; the submitter may withdraw it first"
        case .approved: "this record was approved and can no longer be changed"
        default: "this record was rejected and can no longer be changed"
        }
        var error = AtriumError(status: .conflict, code: "approval_locked", message: message)
        error.messageKey = "approvals.locked_\(state.rawValue)"
        return error
    }

    /// One value of every case (add one with each new case): the tests check each code's
    /// status, uniqueness and locale entries.
    public static let examples: [ApprovalError] = [
        .approvalNotFound("'x'"), .taskNotFound("'x'"), .processNotFound("'x'"), .delegationNotFound(nil), .delegationNotFound("'x'"), .unknownDecision,
        .alreadyPending, .alreadyFinished(approved: true), .alreadyFinished(approved: false), .noProcess(entity: "expense_claim"),
        .noApprover(step: "1 (Manager)", reason: "the submitter has no manager"), .notYourTask, .notSubmitter, .delegationForOthers,
        .stepNotReached(step: 2), .alreadyDecided(.step("approved")), .alreadyDecided(.approval(.withdrawn)),
        .locked(.pending), .locked(.approved), .locked(.rejected), .processVersionConflict(current: 3, sent: 2),
    ]
}
