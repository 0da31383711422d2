"""Browser checks of the knowledge module (first slice): the administrator writes an article in
a category the module seeded, publishes it through the edit form, sees the module's sections on
the record page, and finds it from the top bar by a Chinese word; a step the review flow does
not allow is refused next to the status field. Then the notification centre: the article is
shared with a salesperson of the CRM checks, whose top-bar bell counts it; opening it from the
inbox lands on the article and clears the count. Then, in Chinese on a 390 px phone, an article's
Markdown body is read (rendered, its javascript: link only text), voted helpful once, and the
current announcement is seen unread on the home page and read by opening it. They run after the
expenses checks, signed in as the administrator again, at the desktop size.
"""

import urllib.parse

from selenium.webdriver.common.by import By

from browser_support import CheckFailed, expect
from crm_checks import SELLER_PASSWORD, api, needs, salesperson_cannot_see_another_salespersons_account
from expenses_checks import back_to_the_administrator
from sales_checks import expect_field, fill, new_record, save_form

ARTICLE = "如何批量导入客户？"


def section_titles(ui):
    return [h.text for h in ui.find_all("section.layout-section h2, section.layout-section h3")]


def open_edit_form(ui, entity, record_id):
    ui.open(f"/app/{entity}/{record_id}/edit")
    ui.wait_for_path(f"/app/{entity}/{record_id}/edit")


def knowledge_article_is_written_published_and_found_by_a_chinese_word(ui):
    back_to_the_administrator(ui)
    # The category lookup offers the categories the module seeded when the tenant was created.
    article = new_record(ui, "kb_article", {"title": ARTICLE, "category": ("FAQ", "常见问题"),
                                           "summary": "CSV 文件一次导入客户和联系人。"}, f"the article {ARTICLE!r}")
    ui.wait_for_text("[data-testid=record-title]", ARTICLE)
    ui.state["kb_article"] = article
    expect_field(ui, "status", "Draft", "a new article")
    page = ui.find("main").text
    for title in ("Article", "Content", "Related and review"):
        expect(title in page, f"the article page should have the module's section {title!r}; the page reads {page[:300]!r}")

    open_edit_form(ui, "kb_article", article)
    fill(ui, {"status": ("Published",)})
    save_form(ui, "kb_article", "publishing the article")
    expect_field(ui, "status", "Published", "the published article")
    stamped = ui.find_all("div.field[data-field=published_at] dd")
    expect(stamped and stamped[0].text.strip(), "publishing should show the publication time on the record page")

    # Published → in review is not a step of the flow: the form stays, the error is at the status.
    open_edit_form(ui, "kb_article", article)
    fill(ui, {"status": ("In review",)})
    ui.click_and_load(ui.find("[data-testid=save]"))
    errors = [e.text for e in ui.find_all("[data-testid=field-error], [data-testid=form-error]")]
    expect(any("published" in e or "in_review" in e or "cannot" in e.lower() for e in errors),
           f"moving a published article to review should be refused with a message; errors shown: {errors} on {ui.driver.current_url}")

    ui.open("/app/kb_article")
    ui.search_everywhere("导入")
    found = [a.text for a in ui.find_all("section.search-group[data-entity=kb_article] ul li a")]
    expect(ARTICLE in found, f"searching 导入 should find the article {ARTICLE!r}; finds {found}")
    ui.screenshot("knowledge-search")


def unread_count(ui):
    badges = ui.find_all("[data-testid=unread-count]")
    return badges[0].text.split()[0] if badges else None


@needs(knowledge_article_is_written_published_and_found_by_a_chinese_word, salesperson_cannot_see_another_salespersons_account)
def shared_article_rings_the_salespersons_bell_and_opens_from_the_inbox(ui):
    article = ui.state["kb_article"]
    seller = f"sales2@{ui.slug}.test"
    status, body = api(ui, "GET", "/api/v1/admin/users")
    expect(status == 200, f"GET /api/v1/admin/users should be 200; got {status}: {body}")
    seller_id = next((user.get("id") for user in body.get("users", []) if user.get("email") == seller), None)
    expect(seller_id, f"{seller} is missing from /api/v1/admin/users")
    status, shared = api(ui, "POST", f"/api/v1/kb_article/{article}/shares", {"kind": "user", "id": seller_id, "access": "read"})
    expect(status in (200, 201), f"sharing the article should succeed; got {status}: {shared}")

    ui.sign_in(seller, SELLER_PASSWORD)
    ui.wait_for_text("[data-testid=user-name]", "Second Seller")
    expect(unread_count(ui) == "1", f"the bell should count one unread notification; shows {unread_count(ui)!r}")
    ui.click_and_load(ui.find("[data-testid=notifications-bell]"))
    ui.wait_for_path("/app/notifications")
    entries = ui.find_all("[data-testid=notification]")
    expect(len(entries) == 1 and ARTICLE in entries[0].text and entries[0].get_attribute("data-unread") == "true",
           f"the inbox should list one unread notification about {ARTICLE!r}; lists {[e.text for e in entries]}")
    ui.screenshot("notifications")
    ui.click_and_load(entries[0].find_element(By.CSS_SELECTOR, "button"))
    ui.wait_for_path(f"/app/kb_article/{article}")
    ui.wait_for_text("[data-testid=record-title]", ARTICLE)
    expect(unread_count(ui) is None, f"after opening it the bell should show no count; shows {unread_count(ui)!r}")
    back_to_the_administrator(ui)


# --- second slice: reading an article, votes, announcements on the home page ----------------

READ_ARTICLE = "报价单填写指南"
READ_BODY = "## 填写步骤\n\n1. 选择**客户**\n2. 添加产品行\n\n| 字段 | 说明 |\n|---|---|\n| 折扣 | 不超过 15% |\n\n[坏链接](javascript:alert(1))"
ANNOUNCEMENT = "本周五系统升级通知"


def chinese_on_a_phone(ui):
    from crm_checks import PHONE_HEIGHT, PHONE_WIDTH
    from selenium.webdriver.support.ui import Select
    ui.driver.set_window_size(PHONE_WIDTH, PHONE_HEIGHT)
    ui.open("/")
    if ui.find("html").get_attribute("lang") != "zh-CN":
        Select(ui.find("select#locale")).select_by_value("zh-CN")
        ui.click_and_load(ui.find("[data-testid=change-language]"))
    expect(ui.find("html").get_attribute("lang") == "zh-CN", "the pages should be in Chinese for this check")


def knowledge_article_read_voted_and_announcement_read_on_a_390px_phone_in_chinese(ui):
    """In zh-CN at 390 px: a published article's Markdown body renders (heading, list, table;
    the javascript: link only as text), voting 有帮助 counts once, the current announcement is
    on the home page as unread, opening it marks it read."""
    from datetime import datetime
    from zoneinfo import ZoneInfo
    back_to_the_administrator(ui)
    status, faq = api(ui, "GET", "/api/v1/kb_category?limit=200")
    expect(status == 200, f"listing categories should be 200; got {status}: {faq}")
    category = next((c["id"] for c in faq.get("records", []) if c.get("name_en") == "FAQ"), None)
    expect(category, "the FAQ category is missing")
    status, article = api(ui, "POST", "/api/v1/kb_article", {"title": READ_ARTICLE, "category": category, "body": READ_BODY})
    expect(status == 201, f"creating the article should be 201; got {status}: {article}")
    status, published = api(ui, "PATCH", f"/api/v1/kb_article/{article['id']}", {"version": article["version"], "status": "published"})
    expect(status == 200, f"publishing the article should be 200; got {status}: {published}")
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    status, notice = api(ui, "POST", "/api/v1/announcement", {"title": ANNOUNCEMENT, "body": "**22:00–23:00** 暂停服务。",
                                                              "starts_on": today, "importance": "important"})
    expect(status == 201, f"creating the announcement should be 201; got {status}: {notice}")

    chinese_on_a_phone(ui)
    try:
        ui.open(f"/app/knowledge/articles/{article['id']}")
        ui.wait_for_text("[data-testid=kb-title]", READ_ARTICLE)
        body = ui.find("[data-testid=kb-body]")
        headings = [h.text for h in body.find_elements(By.CSS_SELECTOR, "h2")]
        expect(headings == ["填写步骤"], f"the body's Markdown heading should render; h2s: {headings}")
        expect(len(body.find_elements(By.CSS_SELECTOR, "ol li")) == 2, "the numbered list should render as two items")
        expect(len(body.find_elements(By.CSS_SELECTOR, "table td")) == 2, "the table should render with two cells")
        links = [a.get_attribute("href") for a in body.find_elements(By.CSS_SELECTOR, "a")]
        expect(not links, f"the javascript: link must not become a link; links: {links}")
        expect("坏链接" in body.text, "the refused link's text should stay")
        ui.no_sideways_scroll("the article page at 390x844")
        ui.click_and_load(ui.find("[data-testid=vote-yes]"))
        ui.wait_for_text("[data-testid=helpful-count]", "1")
        expect(ui.find_all("[data-testid=my-vote]"), "the page should say the vote was counted")
        ui.click_and_load(ui.find("[data-testid=vote-yes]"))
        ui.wait_for_text("[data-testid=helpful-count]", "1")
        ui.screenshot("knowledge-article-390")

        ui.open("/")
        block = ui.find("[data-testid=home-announcements]")
        items = [li for li in block.find_elements(By.CSS_SELECTOR, "[data-testid=home-announcement]") if ANNOUNCEMENT in li.text]
        expect(len(items) == 1 and items[0].get_attribute("data-read") == "false",
               f"the home page should show {ANNOUNCEMENT!r} unread; shows {block.text!r}")
        ui.no_sideways_scroll("the home page with announcements at 390x844")
        ui.screenshot("knowledge-home-announcements-390")
        ui.click_and_load(items[0].find_element(By.CSS_SELECTOR, "a"))
        ui.wait_for_text("[data-testid=announcement]", ANNOUNCEMENT)
        expect(ui.find_all("[data-testid=announcement-read]"), "the announcement page should say it is marked read")
        expect(ui.find_all("[data-testid=receipts]"), "the announcer should see the read receipts")
        ui.no_sideways_scroll("the announcement page at 390x844")
        ui.open("/")
        items = [li for li in ui.find_all("[data-testid=home-announcement]") if ANNOUNCEMENT in li.text]
        expect(items and items[0].get_attribute("data-read") == "true", "after opening it the home page should show the announcement as read")
    finally:
        back_to_the_administrator(ui)


def tiny_png(path):
    """A 24×16 PNG, orange, written with the standard library (no image files in the repository)."""
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    width, height = 24, 16
    rows = b"".join(b"\x00" + b"\xf0\x80\x20" * width for _ in range(height))
    with open(path, "wb") as file:
        file.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
                   + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def knowledge_article_with_an_image_is_read_at_1366_and_390_px(ui):
    """An image uploaded to an article's attachments on its record page and placed in the
    Markdown body shows on the reading page (loaded, not broken) at 1366 px and on a 390 px
    phone without sideways scrolling; the article is found by a Chinese word."""
    import os
    import tempfile
    from crm_checks import PHONE_HEIGHT, PHONE_WIDTH
    back_to_the_administrator(ui)
    status, categories = api(ui, "GET", "/api/v1/kb_category?limit=200")
    expect(status == 200, f"listing categories answered {status}: {categories}")
    faq = next(c["id"] for c in categories["records"] if c.get("name_en") == "FAQ")
    status, article = api(ui, "POST", "/api/v1/kb_article", {"title": "报价审批流程图解", "category": faq, "body": "见下图。"})
    expect(status == 201, f"creating the article answered {status}: {article}")
    path = os.path.join(tempfile.mkdtemp(prefix="atrium-kb-"), "审批流程.png")
    tiny_png(path)
    ui.driver.set_window_size(1366, 900)
    try:
        ui.open(f"/app/kb_article/{article['id']}")
        ui.find("#attachment-file").send_keys(path)
        ui.click_and_load(ui.find("[data-testid=attachment-submit]"))
        link = ui.find("[data-testid=attachment-download]")
        expect(link.text == "审批流程.png", f"the uploaded file should be listed by name; lists {link.text!r}")
        source = link.get_attribute("href")
        status, current = api(ui, "GET", f"/api/v1/kb_article/{article['id']}")
        body = f"见下图。\n\n![报价审批流程]({urllib.parse.urlparse(source).path})\n\n经理审批后由财务复核。"
        status, changed = api(ui, "PATCH", f"/api/v1/kb_article/{article['id']}", {"version": current["version"], "body": body, "status": "published"})
        expect(status == 200, f"publishing the article with its image answered {status}: {changed}")

        def image_shows(what):
            ui.open(f"/app/knowledge/articles/{article['id']}")
            image = ui.find(".kb-body img")
            expect(image.get_attribute("alt") == "报价审批流程", f"the image's alt text ({what}) is {image.get_attribute('alt')!r}")
            loaded = ui.wait().until(lambda driver: driver.execute_script(
                "const i = document.querySelector('.kb-body img'); return i.complete && i.naturalWidth > 0 ? i.naturalWidth : 0;"),
                message=f"the article's image should load ({what})")
            expect(loaded == 24, f"the image should be the uploaded 24 px one ({what}); is {loaded} px wide")
        image_shows("1366 px")
        ui.open("/app/search?q=" + urllib.parse.quote("审批流程"))
        ui.wait_for_text("main", "报价审批流程图解")
        ui.driver.set_window_size(PHONE_WIDTH, PHONE_HEIGHT)
        image_shows("390 px")
        ui.no_sideways_scroll("an article with an image on a phone")
        ui.screenshot("knowledge-article-image-390")
    finally:
        ui.driver.set_window_size(1280, 900)


KNOWLEDGE_CHECKS = [
    knowledge_article_is_written_published_and_found_by_a_chinese_word,
    knowledge_article_with_an_image_is_read_at_1366_and_390_px,
    shared_article_rings_the_salespersons_bell_and_opens_from_the_inbox,
    knowledge_article_read_voted_and_announcement_read_on_a_390px_phone_in_chinese,
]
