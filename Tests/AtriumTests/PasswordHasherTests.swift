import Platform
import Testing

@Suite struct PasswordHasherTests {
    let hasher = PasswordHasher(memoryKiB: 1024, iterations: 1, parallelism: 1)

    @Test func hashVerifiesTheRightPasswordOnly() throws {
        let hash = try hasher.hash("correct horse 电池 staple")
        #expect(hash.hasPrefix("$argon2id$"))
        #expect(hash.contains("m=1024,t=1,p=1"))
        #expect(hasher.verify("correct horse 电池 staple", against: hash))
        #expect(!hasher.verify("correct horse 电池 stapler", against: hash))
        #expect(!hasher.verify("", against: hash))
    }

    @Test func sameInputHashesDifferentlyBecauseOfTheSalt() throws {
        #expect(try hasher.hash("same") != hasher.hash("same"))
    }

    @Test func defaultCostIsTheProductionOne() {
        let defaults = PasswordHasher()
        #expect(defaults.memoryKiB == 65_536 && defaults.iterations == 3 && defaults.parallelism == 1)
    }

    @Test func malformedOrForeignHashesNeverVerify() {
        #expect(!hasher.verify("x", against: "$2b$12$abcdefghijklmnopqrstuv"))
        #expect(!hasher.verify("x", against: "$argon2id$garbage"))
    }

    @Test func tokensAreStoredOnlyAsHashes() {
        let token = SecureToken.generate()
        #expect(token.count >= 43)
        #expect(SecureToken.hash(token).count == 64)
        #expect(SecureToken.hash(token) != token)
        #expect(SecureToken.constantTimeEquals(token, token))
        #expect(!SecureToken.constantTimeEquals(token, SecureToken.generate()))
    }
}
