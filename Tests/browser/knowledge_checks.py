"""Browser checks of the knowledge module (first slice): the administrator writes an article in
a category the module seeded, publishes it through the edit form, sees the module's sections on
the record page, and finds it from the top bar by a Chinese word; a step the review flow does
not allow is refused next to the status field. They run after the expenses checks, signed in
as the administrator again, at the desktop size.
"""

from selenium.webdriver.common.by import By

from browser_support import CheckFailed, expect
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


KNOWLEDGE_CHECKS = [
    knowledge_article_is_written_published_and_found_by_a_chinese_word,
]
