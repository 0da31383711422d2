"""Browser checks of comments and discussions (issue 19).

Comments: on a 390 px phone the administrator opens a customer's page, picks a colleague who can
read the customer in the comment form's mention picker (its script writes `@[Name](id)`), adds
one who cannot, and posts; the thread shows both as names, and the page says who was not
notified. The colleague who can read it finds the notification in the inbox and lands on the
customer; the one who cannot has no notification. They end signed in as the administrator at
the desktop size.
"""

import re
import secrets

from selenium.webdriver.common.by import By

from browser_support import expect
from crm_checks import api, make_user
from expenses_checks import back_to_the_administrator
from sales_checks import fill, save_form

PHONE_WIDTH, PHONE_HEIGHT = 390, 844
PASSWORD = "Comment-pass-61"


def comment_people(ui):
    """A sales director who reads every customer and a salesperson who reads only her own (made
    once): {"reader": (email, name, id), "outsider": (…)}."""
    if not ui.state.get("comment_people"):
        people = {}
        for key, name, role in (("reader", "王芳", "sales_director"), ("outsider", "赵敏", "salesperson")):
            email = f"comment-{key}@{ui.slug}.test"
            people[key] = (email, name, make_user(ui, email, name, PASSWORD, {"roles": [role]}, locale="zh-CN"))
        ui.state["comment_people"] = people
    return ui.state["comment_people"]


def mention_notices(ui, record):
    """The signed-in user's notification entries that tell of a mention on `record` (its title)."""
    ui.open("/app/notifications")
    return [entry for entry in ui.find_all("[data-testid=notification]") if record in entry.text and "@" in entry.text]


def comment_with_a_mention_at_390px_reaches_the_reader_and_not_the_outsider(ui):
    back_to_the_administrator(ui)
    people = comment_people(ui)
    reader_email, reader_name, _ = people["reader"]
    outsider_email, outsider_name, outsider_id = people["outsider"]
    customer = f"评论测试客户 {secrets.token_hex(3)}"
    status, account = api(ui, "POST", "/api/v1/account", {"name": customer})
    expect(status == 201, f"creating {customer} should be 201; got {status}: {account}")
    path = f"/app/account/{account['id']}"

    ui.driver.set_window_size(PHONE_WIDTH, PHONE_HEIGHT)
    try:
        ui.open(path)
        ui.find("[data-testid=comments]")
        ui.type_into("[data-testid=comment-text]", "请看一下报价 ")
        ui.choose("[data-testid=comment-mention]", visible_text=reader_name)
        text = ui.find("[data-testid=comment-text]").get_attribute("value")
        expect(f"@[{reader_name}](" in text, f"the picker should write a mention of {reader_name} into the text; it reads {text!r}")
        ui.find("[data-testid=comment-text]").send_keys(f" 以及 @[{outsider_name}]({outsider_id})")
        ui.no_sideways_scroll("the record page with its comment form on a phone")
        ui.click_and_load(ui.find("[data-testid=comment-submit]"))
        ui.wait_for_path(path)
        bodies = [b.text for b in ui.find_all("[data-testid=comment-body]")]
        expect(any(f"@{reader_name}" in b and f"@{outsider_name}" in b and "](" not in b for b in bodies),
               f"the thread should show both mentions as names; shows {bodies}")
        missed = [m.text for m in ui.find_all("[data-testid=comment-not-notified]")]
        expect(missed and outsider_name in missed[0] and reader_name not in missed[0],
               f"the page should say that {outsider_name} (who cannot read the customer) was not notified; says {missed}")
        ui.screenshot("phone-comment-mention")

        ui.sign_in(reader_email, PASSWORD)
        ui.driver.set_window_size(PHONE_WIDTH, PHONE_HEIGHT)
        entries = mention_notices(ui, customer)
        expect(len(entries) == 1 and customer in entries[0].text, f"{reader_name} should have one notification of the mention on {customer}; has {[e.text for e in entries]}")
        ui.click_and_load(entries[0].find_element(By.CSS_SELECTOR, "button"))
        ui.wait_for_path(path)
        ui.find("[data-testid=comments]")

        ui.sign_in(outsider_email, PASSWORD)
        expect(not mention_notices(ui, customer), f"{outsider_name} cannot read {customer} and should have no notification of it")
        expect(ui.http_status(path) == 404, f"{path} should be a 404 for {outsider_name}")
    finally:
        back_to_the_administrator(ui)


def discussion_topic_replied_at_390px_answer_accepted_and_turned_into_an_article(ui):
    back_to_the_administrator(ui)
    reader_email, reader_name, _ = comment_people(ui)["reader"]
    suffix = secrets.token_hex(3)
    status, board = api(ui, "POST", "/api/v1/kb_board", {"name": f"产品使用问答 {suffix}"})
    expect(status == 201, f"creating a board should be 201; got {status}: {board}")

    ui.open("/")
    link = [a for a in ui.find_all("nav#sidenav a") if a.get_attribute("href").endswith("/app/knowledge/boards")]
    expect(link, "the menu should have the discussions page")
    ui.click_and_load(link[0])
    ui.click_and_load(ui.find(f"[data-testid=board][data-id='{board['id']}'] a"))
    ui.wait_for_text("[data-testid=board-title]", board["name"])
    ui.click_and_load(ui.find("[data-testid=new-topic]"))
    title = f"导入客户时电话格式报错 {suffix}"
    fill(ui, {"title": title, "body": "有 30 行提示**电话格式不正确**，需要一行一行改吗？"})
    topic = save_form(ui, "kb_topic", f"the topic {title!r}")
    path = f"/app/knowledge/topics/{topic}"
    ui.click_and_load(ui.find("[data-action='knowledge.actions.open_topic']"))
    ui.wait_for_path(path)
    ui.wait_for_text("[data-testid=topic-title]", title)
    expect(ui.find("[data-testid=topic-body] strong").text == "电话格式不正确", "the question's Markdown should be rendered")

    ui.sign_in(reader_email, PASSWORD)
    ui.driver.set_window_size(PHONE_WIDTH, PHONE_HEIGHT)
    try:
        ui.open(path)
        answer = "不用一行一行改：把电话列统一成 010-62532288 的格式，先“只检查不导入”试一次。"
        ui.type_into("[data-testid=comment-text]", answer)
        ui.no_sideways_scroll("the topic page with its reply form on a phone")
        ui.click_and_load(ui.find("[data-testid=comment-submit]"))
        ui.wait_for_path(path)
        replies = [r.text for r in ui.find_all("[data-testid=comment] [data-testid=comment-body]")]
        expect(replies == [answer], f"the topic should show the reply; shows {replies}")
        expect(not ui.find_all("[data-testid=accept]"), f"{reader_name} did not start the topic and may not accept an answer")
        ui.screenshot("phone-discussion-reply")
    finally:
        back_to_the_administrator(ui)

    ui.open(path)
    ui.click_and_load(ui.find("[data-testid=accept]"))
    ui.wait_for_path(path)
    expect(ui.find("[data-testid=kb-topic]").get_attribute("data-solved") == "true", "accepting the reply should solve the topic")
    accepted = ui.find_all("[data-testid=comment][data-highlighted=true] [data-testid=comment-body]")
    expect(accepted and accepted[0].text == answer, "the accepted reply should be marked as the answer")
    ui.click_and_load(ui.find("[data-testid=make-article]"))
    expect(re.fullmatch(r"/app/kb_article/[0-9a-f-]{36}", ui.path()), f"turning the topic into an article should open the article; on {ui.driver.current_url}")
    article = ui.path().rsplit("/", 1)[1]
    status, made = api(ui, "GET", f"/api/v1/kb_article/{article}")
    expect(status == 200 and made.get("status") == "draft" and made.get("title") == title, f"the article should be a draft titled {title!r}: {made}")
    expect(answer in made.get("body", "") and f"/app/knowledge/topics/{topic}" in made.get("body", ""),
           f"the article should hold the answer and link back to the discussion: {made.get('body')!r}")
    ui.open(f"/app/knowledge/articles/{article}")
    expect(ui.find_all("[data-testid=comments] [data-testid=comment-form]"), "the article's reading page should have its comment thread")
    ui.open(path)
    expect(ui.find_all("[data-testid=topic-article]"), "the topic should link to its article")
    ui.screenshot("discussion-solved")


DISCUSSION_CHECKS = [
    comment_with_a_mention_at_390px_reaches_the_reader_and_not_the_outsider,
    discussion_topic_replied_at_390px_answer_accepted_and_turned_into_an_article,
]
