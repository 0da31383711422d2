"""Browser check of the document library (文档中心, issue 19): in Chinese on a 390 px phone the
administrator uploads a document into a folder from the library page, uploads a new version on
the document's page (both versions listed, the new one current), and finds the document from
the library's search box by a Chinese word of its file name. The files are made here, in a
temporary folder. It runs after the knowledge checks and ends signed in as the administrator
at the desktop size.
"""

import os
import re
import tempfile

from browser_support import expect
from crm_checks import api
from expenses_checks import back_to_the_administrator
from knowledge_checks import chinese_on_a_phone

FOLDER = "产品资料（界面测试）"
DOCUMENT = "华通产品手册"
FILE_NAME = "北京华通科技有限公司产品手册.pdf"


def pdf(path, text):
    with open(path, "wb") as handle:
        handle.write(b"%PDF-1.4\n" + text.encode() + b"\n%%EOF\n")
    return path


def doclib_document_uploaded_versioned_and_found_by_a_chinese_word_on_a_390px_phone(ui):
    back_to_the_administrator(ui)
    status, folder = api(ui, "POST", "/api/v1/doc_folder", {"name": FOLDER})
    expect(status == 201, f"creating the folder should be 201; got {status}: {folder}")
    files = tempfile.mkdtemp(prefix="atrium-doclib-")
    first = pdf(os.path.join(files, FILE_NAME), "version one")
    second_dir = os.path.join(files, "v2")
    os.makedirs(second_dir)
    second = pdf(os.path.join(second_dir, "北京华通科技有限公司产品手册-第二版.pdf"), "version two")

    chinese_on_a_phone(ui)
    try:
        ui.open("/app/knowledge/library")
        ui.find("[data-testid=doc-upload]")
        ui.no_sideways_scroll("the document library at 390x844")
        ui.type_into("#doc-name", DOCUMENT)
        ui.choose("#doc-folder", value=folder["id"])
        ui.type_into("#doc-tags", "手册 manual")
        ui.find("#doc-file").send_keys(first)
        ui.click_and_load(ui.find("[data-testid=doc-upload-submit]"))
        ui.wait_for_path(re.compile(r"/app/knowledge/library/documents/[0-9a-f-]{36}"))
        document = ui.path().rsplit("/", 1)[1]
        ui.wait_for_text("[data-testid=doc-title]", DOCUMENT)
        ui.wait_for_text("[data-testid=doc-current]", "v1")
        ui.wait_for_text("[data-testid=doc-file-name]", FILE_NAME)
        ui.no_sideways_scroll("the document page at 390x844")

        ui.find("#doc-version-file").send_keys(second)
        ui.click_and_load(ui.find("[data-testid=doc-version-submit]"))
        ui.wait_for_text("[data-testid=doc-current]", "v2")
        versions = ui.find_all("[data-testid=doc-versions] li")
        expect([v.get_attribute("data-version") for v in versions] == ["2", "1"],
               f"both versions should be listed, newest first; lists {[v.text for v in versions]}")
        expect(versions[0].get_attribute("data-current") == "true", "the new version should be the current one")
        expect(ui.find_all("[data-testid=doc-restore-1]"), "the earlier version should offer to be made current again")
        ui.no_sideways_scroll("the document page with two versions at 390x844")
        ui.screenshot("doclib-document-390")

        ui.open("/app/knowledge/library")
        box = ui.type_into("#doc-q", "华通")
        ui.click_and_load(ui.find("[data-testid=doc-search-submit]"))
        ui.wait_for_path("/app/knowledge/library")
        found = [item.get_attribute("data-id") for item in ui.find_all("[data-testid=doc-item]")]
        expect(document in found, f"searching 华通 should find the document {document}; finds {found}")
        expect(box is not None, "the search box should be on the library page")
        ui.no_sideways_scroll("the library's search results at 390x844")
        ui.screenshot("doclib-search-390")
    finally:
        back_to_the_administrator(ui)


DOCLIB_CHECKS = [
    doclib_document_uploaded_versioned_and_found_by_a_chinese_word_on_a_390px_phone,
]
