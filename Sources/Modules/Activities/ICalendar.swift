import Foundation
import Platform

/// RFC 5545 text of events, for phones and Outlook subscribing to a user's feed: one VEVENT per
/// single event and per series (with its RRULE, EXDATE for cancelled occurrences), and one per
/// edited occurrence (RECURRENCE-ID naming the occurrence it replaces). Times are UTC
/// (`…Z`), all-day events are dates in the tenant's time zone; lines end in CRLF and are
/// folded at 75 octets; text values are escaped (§3.3.11).
enum ICalendar {
    static func utcStamp(_ date: Date) -> String {
        EventTime.text(date).filter { $0 != "-" && $0 != ":" }
    }

    static func dateStamp(_ date: Date, zone: TimeZone) -> String {
        Recurrence.dayText(date, zone: zone).replacingOccurrences(of: "-", with: "")
    }

    /// TEXT escaping: backslash, semicolon, comma and newlines.
    static func escape(_ text: String) -> String {
        var out = ""
        for character in text.replacingOccurrences(of: "\r\n", with: "\n") {
            switch character {
            case "\\": out += "\\\\"
            case ";": out += "\\;"
            case ",": out += "\\,"
            case "\n", "\r": out += "\\n"
            default: out.append(character)
            }
        }
        return out
    }

    /// Splits a content line into lines of at most 75 octets, continuation lines starting with
    /// a space, never inside a UTF-8 sequence (a Chinese character is three octets).
    static func fold(_ line: String) -> String {
        var lines: [String] = []
        var current = ""
        var octets = 0
        for scalar in line.unicodeScalars {
            let size = String(scalar).utf8.count
            let limit = lines.isEmpty ? 75 : 74  // continuation lines spend one octet on the space
            if octets + size > limit {
                lines.append(current)
                current = ""
                octets = 0
            }
            current.unicodeScalars.append(scalar)
            octets += size
        }
        lines.append(current)
        return lines.joined(separator: "\r\n ")
    }

    /// The calendar of `events` (masters, single events and exceptions alike), for `name`.
    static func calendar(name: String, events: [Record], host: String, now: Date, zone: TimeZone = Recurrence.tenantZone) -> String {
        var lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Atrium//Calendar//ZH", "CALSCALE:GREGORIAN", "METHOD:PUBLISH",
                     "X-WR-CALNAME:" + escape(name), "X-WR-TIMEZONE:" + zone.identifier]
        // Cancelled occurrences of each series, as EXDATEs on it.
        var cancelled: [String: [Date]] = [:]
        for event in events where event.values["cancelled"] == .bool(true) {
            if let series = event.string("series_id"), let at = EventTime.date(event.values["occurrence_start"]) { cancelled[series, default: []].append(at) }
        }
        for event in events where event.values["cancelled"] != .bool(true) {
            guard let start = EventTime.date(event.values["starts_at"]) else { continue }
            let end = EventTime.date(event.values["ends_at"]) ?? start
            let series = event.string("series_id")
            let allDay = event.values["all_day"] == .bool(true)
            lines.append("BEGIN:VEVENT")
            lines.append("UID:\(series ?? event.idText)@\(host)")
            lines.append("DTSTAMP:" + utcStamp(now))
            lines.append("LAST-MODIFIED:" + utcStamp(event.updatedAt))
            if allDay {
                let lastDay = Recurrence.calendar(zone).date(byAdding: .day, value: 1, to: end)!
                lines.append("DTSTART;VALUE=DATE:" + dateStamp(start, zone: zone))
                lines.append("DTEND;VALUE=DATE:" + dateStamp(lastDay, zone: zone))
            } else {
                lines.append("DTSTART:" + utcStamp(start))
                lines.append("DTEND:" + utcStamp(end))
            }
            if series != nil, let occurrence = EventTime.date(event.values["occurrence_start"]) {
                lines.append(allDay ? "RECURRENCE-ID;VALUE=DATE:" + dateStamp(occurrence, zone: zone) : "RECURRENCE-ID:" + utcStamp(occurrence))
            } else if let rule = EventSeries.rule(of: event) {
                lines.append(rule.rrule(zone: zone, allDay: allDay))
                for at in (cancelled[event.idText] ?? []).sorted() {
                    lines.append(allDay ? "EXDATE;VALUE=DATE:" + dateStamp(at, zone: zone) : "EXDATE:" + utcStamp(at))
                }
            }
            lines.append("SUMMARY:" + escape(event.string("subject") ?? ""))
            if let location = event.string("location"), !location.isEmpty { lines.append("LOCATION:" + escape(location)) }
            if let notes = event.string("notes"), !notes.isEmpty { lines.append("DESCRIPTION:" + escape(notes)) }
            if let minutes = EventSeries.int(event.values["reminder_minutes"]) {
                lines += ["BEGIN:VALARM", "ACTION:DISPLAY", "DESCRIPTION:" + escape(event.string("subject") ?? ""), "TRIGGER:-PT\(minutes)M", "END:VALARM"]
            }
            lines.append("END:VEVENT")
        }
        lines.append("END:VCALENDAR")
        return lines.map(fold).joined(separator: "\r\n") + "\r\n"
    }
}
