import Foundation
import Modules
import Platform
import Tenancy
import Testing

@Suite struct LocalizationTests {
    @Test func chineseAndEnglishLocaleFilesHaveTheSameKeys() throws {
        // The platform's strings and the modules' (merged key by key) must match between languages.
        let localizer = try Localizer(directory: PlatformResources.directory.appendingPathComponent("locales"),
                                      extra: [BuiltInModules.resources.appendingPathComponent("locales")])
        let en = localizer.keys("en"), zh = localizer.keys("zh-CN")
        #expect(en.contains("sales.nav.pipeline") && en.contains("validation.sales.overpaid") && en.contains("validation.sales.overpaid") && en.contains("validation.option"),
                "module keys are merged beside the platform's, not over them")
        #expect(!en.isEmpty)
        #expect(en.subtracting(zh).isEmpty, "missing in zh-CN: \(en.subtracting(zh).sorted())")
        #expect(zh.subtracting(en).isEmpty, "missing in en: \(zh.subtracting(en).sorted())")
        #expect(localizer.string("login.locked", locale: "zh-CN", ["time": "10:15"]) == "登录失败次数过多，请在 10:15（UTC）之后再试。")
    }

    @Test func languageIsChosenFromUserThenCookieThenAcceptLanguage() {
        #expect(Localizer.choose(userLocale: "zh-CN", cookie: "en", acceptLanguage: "en") == "zh-CN")
        #expect(Localizer.choose(userLocale: nil, cookie: "en", acceptLanguage: "zh-CN") == "en")
        #expect(Localizer.choose(userLocale: nil, cookie: nil, acceptLanguage: "zh-TW,zh;q=0.9,en;q=0.8") == "zh-CN")
        #expect(Localizer.choose(userLocale: nil, cookie: nil, acceptLanguage: "fr;q=1, en;q=0.5, zh;q=0.7") == "zh-CN")
        #expect(Localizer.choose(userLocale: nil, cookie: nil, acceptLanguage: "de") == "en")
        #expect(Localizer.choose(userLocale: nil, cookie: nil, acceptLanguage: nil) == "en")
    }

    @Test func tenantSlugComesFromTheSubdomainOfTheBaseDomainOnly() {
        #expect(TenantResolver.slug(fromHost: "acme.localhost:8080", baseDomain: "localhost") == "acme")
        #expect(TenantResolver.slug(fromHost: "ACME.crm.example.com", baseDomain: "crm.example.com") == "acme")
        #expect(TenantResolver.slug(fromHost: "localhost:8080", baseDomain: "localhost") == nil)
        #expect(TenantResolver.slug(fromHost: "a.b.localhost", baseDomain: "localhost") == nil)
        #expect(TenantResolver.slug(fromHost: "acme.evil.com", baseDomain: "localhost") == nil)
        #expect(TenantResolver.slug(fromHost: "[::1]:8080", baseDomain: "localhost") == nil)
    }
}
