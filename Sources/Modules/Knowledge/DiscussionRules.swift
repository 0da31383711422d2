import Foundation
import Platform

/// A topic's body mentions people as comments do (`@[Name](user-id)`): on create, and on an
/// edit for people mentioned for the first time, each mentioned user who can read the topic —
/// checked by the engine as that user (``MentionNotifier``) — is notified.
struct TopicMentions: RecordHooks {
    func afterCreate(_ record: Record, context: HookContext) async throws {
        try await notify(CommentBody(record.string("body") ?? "").mentions, record, context: context)
    }

    func afterUpdate(_ record: Record, previous: Record, context: HookContext) async throws {
        let before = Set(CommentBody(previous.string("body") ?? "").mentions)
        try await notify(CommentBody(record.string("body") ?? "").mentions.filter { !before.contains($0) }, record, context: context)
    }

    func notify(_ mentioned: [UUID], _ topic: Record, context: HookContext) async throws {
        guard !mentioned.isEmpty else { return }
        let notifier = MentionNotifier(engine: context.engine)
        let readers = try await notifier.readers(among: mentioned, of: topic, except: context.user.id, on: context.connection, logger: context.logger)
        try await notifier.notify(readers, of: CommentBody(topic.string("body") ?? ""), on: topic, actor: context.actor,
                                  on: context.connection, logger: context.logger)
    }
}

/// A topic's answer and what becomes of it. Whoever may change the topic — its author (their
/// own records), administrators and service agents (all) — accepts one of its replies (a
/// platform comment on the topic) as the answer, which solves the topic. A solved topic becomes
/// a draft article with the question and the accepted answer, linking back to the discussion;
/// writing it needs the caller's own right to create articles. Every check of who may do what
/// is the record engine's (the topic's update scope, the article's create right).
/// ```swift
/// let topic = try await TopicAnswers.accept(replyID, on: topicID, store: store)    // status "solved"
/// let article = try await TopicAnswers.article(from: topicID, store: store, text: text)   // a kb_article draft
/// ```
enum TopicAnswers {
    /// The caller's topic: read through the engine (404 when they cannot read it).
    static func topic(_ id: UUID, store: ModuleStore) async throws -> Record {
        try await KnowledgeAPI.read("kb_topic", id, store: store)
    }

    /// The topic's live replies, oldest first.
    static func replies(of topic: Record, store: ModuleStore) async throws -> [RecordComment] {
        try await RecordComments.thread(of: "kb_topic", id: topic.id, on: store.connection, logger: store.logger)
    }

    /// Marks `replyID` as the topic's answer; the topic is solved from then on (another reply
    /// may be accepted instead later).
    static func accept(_ replyID: UUID, on topicID: UUID, store: ModuleStore) async throws -> Record {
        let topic = try await topic(topicID, store: store)
        guard try await KnowledgeAPI.mayUpdate(topic, store: store) else { throw DiscussionError.mayNotAccept }
        guard try await replies(of: topic, store: store).contains(where: { $0.id == replyID }) else {
            throw DiscussionError.replyNotFound(replyID.uuidString.lowercased())
        }
        // The computed fields are the rule's to write (audited under the caller).
        let current = try await store.derived.get("kb_topic", topicID)
        return try await store.derived.update(current, [
            "accepted_reply": .string(replyID.uuidString.lowercased()), "status": .string("solved"),
            "solved_at": current.string("solved_at").map(JSONValue.string) ?? .string(Date().formatted(.iso8601)),
        ])
    }

    /// The words an article made from a topic is written with, in the caller's language.
    struct ArticleText: Sendable {
        var question: String
        var answer: String
        var source: String
    }

    /// A draft article from a solved topic: its title, the question and the accepted answer (as
    /// Markdown, mentions as names), in the board's category for articles (else the FAQ, else
    /// the first category); the topic links to it and the article to the topic. Made once: a
    /// second call returns the article already made.
    static func article(from topicID: UUID, store: ModuleStore, text: ArticleText) async throws -> Record {
        let topic = try await topic(topicID, store: store)
        if let made = try await store.get("kb_article", topic.string("article")) { return made }
        guard topic.string("status") == "solved", let accepted = topic.string("accepted_reply").flatMap(UUID.init(uuidString:)),
              let answer = try await replies(of: topic, store: store).first(where: { $0.id == accepted }) else {
            throw DiscussionError.notSolved
        }
        let board = try await store.get("kb_board", topic.string("board"))
        let categories = try await store.all("kb_category", sort: "position")
        guard let category = try await store.get("kb_category", board?.string("category"))
            ?? categories.first(where: { $0.string("name_en") == "FAQ" }) ?? categories.first else {
            throw DiscussionError.noCategory
        }
        let names = try await store.organisationNames().people
        let body = """
            ## \(text.question)

            \(CommentBody(topic.string("body") ?? "").plain(names: names))

            ## \(text.answer)

            \(answer.body.plain(names: names))

            ---

            \(text.source): [\(topic.string("title") ?? "")](/app/knowledge/topics/\(topic.idText))
            """
        let article = try await store.create("kb_article", [
            "title": .string(topic.string("title") ?? ""), "category": .string(category.idText), "body": .string(body),
            "summary": .string(String(answer.body.plain(names: names).prefix(200))), "tags": .string("FAQ"),
        ])
        let current = try await store.derived.get("kb_topic", topicID)
        try await store.derived.update(current, ["article": .string(article.idText)])
        return article
    }
}

/// What went wrong in a discussion.
enum DiscussionError: DomainError, Equatable {
    /// Only who may change the topic accepts an answer.
    case mayNotAccept
    /// No such reply on the topic (or it was removed).
    case replyNotFound(String)
    /// An article is made from a solved topic only.
    case notSolved
    /// The tenant has no knowledge category to put the article in.
    case noCategory

    var atriumError: AtriumError {
        switch self {
        case .mayNotAccept:
            AtriumError(status: .forbidden, code: "topic_answer_not_allowed", message: "only the topic's author or an administrator may accept an answer")
        case .replyNotFound(let id):
            AtriumError(status: .unprocessableContent, code: "topic_reply_not_found", message: "reply_id \(id) is not a reply of this topic", field: "reply_id")
        case .notSolved:
            AtriumError(status: .conflict, code: "topic_not_solved", message: "accept an answer before turning the topic into an article")
        case .noCategory:
            AtriumError(status: .unprocessableContent, code: "topic_no_category", message: "create a knowledge category first", field: "category")
        }
    }

    static let examples: [DiscussionError] = [.mayNotAccept, .replyNotFound("x"), .notSolved, .noCategory]
}
