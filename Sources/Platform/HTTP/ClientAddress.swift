import NIOCore

/// The client's address behind trusted reverse proxies (nginx on the same host in the private
/// deployment). `X-Forwarded-For` is only believed when the socket peer is a trusted proxy;
/// the list is read right to left and the first address that is not itself a trusted proxy is
/// the client. Anything unparsable ends the walk at the last trusted hop, so a client can never
/// choose the address the login throttle and the audit log see.
public enum ClientAddress {
    /// Whether `text` is an IPv4 or IPv6 address.
    public static func isAddress(_ text: String) -> Bool {
        (try? SocketAddress(ipAddress: text, port: 0)) != nil
    }

    public static func resolve(peer: String, forwardedFor: [String], trusted: Set<String>) -> String {
        guard trusted.contains(peer) else { return peer }
        let hops = forwardedFor.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
        var client = peer
        for hop in hops.reversed() {
            guard isAddress(hop) else { return client }
            client = hop
            if !trusted.contains(hop) { return hop }
        }
        return client
    }
}
