"""Browser checks of issue 21. Excel import and export with LibreOffice Calc as the other side:
LibreOffice turns a CSV of two customers into a real .xlsx workbook, the administrator uploads
it on the customers' import page (first "only check", then for real) and sees them imported;
then the Excel export of those customers is opened by LibreOffice again (converted back to CSV)
and must hold the same names and phone numbers, and the Chinese import template must name the
columns in Chinese. Then a report built in Chinese on a phone (see its docstring). Runs as the
administrator after the automation checks.
"""

import csv
import io
import os
import subprocess
import tempfile
import urllib.parse
import urllib.request

from browser_support import WAIT_SECONDS, expect
from crm_checks import admin_token
from expenses_checks import back_to_the_administrator

NAMES = ("表格导入客户甲", "表格导入客户乙")


def libreoffice(source, target_format, directory):
    """Converts `source` with LibreOffice Calc (headless, own profile) into `directory`; a CSV
    source is read as UTF-8 with commas (LibreOffice would otherwise guess the machine's charset)."""
    profile = os.path.join(directory, "lo-profile")
    reading = ["--infilter=CSV:44,34,76,1"] if source.endswith(".csv") else []
    result = subprocess.run(["soffice", f"-env:UserInstallation=file://{profile}", "--headless", *reading, "--convert-to", target_format,
                             "--outdir", directory, source], capture_output=True, text=True, timeout=180)
    expect(result.returncode == 0, f"LibreOffice could not convert {os.path.basename(source)}: {result.stdout}{result.stderr}")


def download(ui, path):
    request = urllib.request.Request(f"{ui.api_url}{path}", headers={"X-Tenant": ui.slug, "Authorization": f"Bearer {admin_token(ui)}"})
    with urllib.request.urlopen(request, timeout=WAIT_SECONDS * 3) as response:
        expect(response.status == 200, f"{path} answered {response.status}")
        return response.read()


def an_excel_workbook_from_libreoffice_imports_and_the_excel_export_opens_in_libreoffice(ui):
    back_to_the_administrator(ui)
    with tempfile.TemporaryDirectory(prefix="atrium-excel-") as directory:
        source = os.path.join(directory, "customers.csv")
        with open(source, "w", encoding="utf-8", newline="") as handle:
            handle.write("name,phone\r\n")
            handle.write(f"{NAMES[0]},+86 10 1234 5678\r\n")
            handle.write(f"{NAMES[1]},13800138000\r\n")
        libreoffice(source, "xlsx", directory)
        workbook = os.path.join(directory, "customers.xlsx")
        expect(os.path.exists(workbook), "LibreOffice wrote no .xlsx file")

        ui.open("/app/account")
        ui.find("[data-testid=export-xlsx]")
        ui.click_and_load(ui.find("[data-testid=import]"))
        ui.wait_for_path("/app/account/import")
        ui.find("#import-file").send_keys(workbook)
        ui.find("#import-check").click()
        ui.click_and_load(ui.find("[data-testid=import-submit]"))
        checked = ui.find("[data-testid=import-checked]").text
        expect("2" in checked, f"checking the workbook should find 2 valid rows; the page says {checked!r}")
        ui.find("#import-file").send_keys(workbook)
        ui.click_and_load(ui.find("[data-testid=import-submit]"))
        done = ui.find("[data-testid=import-done]").text
        expect("2" in done, f"the import should report 2 records; the page says {done!r}")
        ui.screenshot("excel-import")

        query = urllib.parse.urlencode({"format": "xlsx", "q": "表格导入客户", "sort": "name", "lang": "zh-CN"})
        exported = os.path.join(directory, "export.xlsx")
        with open(exported, "wb") as handle:
            handle.write(download(ui, f"/api/v1/account/export?{query}"))
        # CSV with UTF-8 (76), comma and quote: how LibreOffice reads the workbook back.
        libreoffice(exported, 'csv:Text - txt - csv (StarCalc):44,34,76', directory)
        with open(os.path.join(directory, "export.csv"), encoding="utf-8-sig") as handle:
            rows = list(csv.reader(io.StringIO(handle.read())))
        header = rows[0]
        expect("名称" in header or "客户名称" in header, f"the export's header should be Chinese labels; LibreOffice reads {header}")
        name_column = 0
        phone_column = next((index for index, label in enumerate(header) if "电话" in label), None)
        expect(phone_column is not None, f"no phone column in {header}")
        found = {row[name_column]: row[phone_column] for row in rows[1:]}
        expect(found.get(NAMES[0]) == "+86 10 1234 5678" and found.get(NAMES[1]) == "13800138000",
               f"LibreOffice should read back both customers with their phones; it reads {found} from {rows[:4]}")

        template = os.path.join(directory, "template.xlsx")
        with open(template, "wb") as handle:
            handle.write(download(ui, "/api/v1/account/import-template?format=xlsx&lang=zh-CN"))
        libreoffice(template, 'csv:Text - txt - csv (StarCalc):44,34,76', directory)
        with open(os.path.join(directory, "template.csv"), encoding="utf-8-sig") as handle:
            template_rows = list(csv.reader(handle))
        expect(len(template_rows) == 1 and any("名称" in label for label in template_rows[0]),
               f"the template should be one row of Chinese column names; LibreOffice reads {template_rows}")




def a_report_is_built_in_chinese_on_a_phone_drills_down_and_exports_to_excel(ui):
    """Issue 21's report builder as a Chinese user on a 390 px phone: accounts counted by
    level, the bar chart drawn, one bar opening the list of its accounts, the sheet readable."""
    back_to_the_administrator(ui)
    from crm_checks import PHONE_HEIGHT, PHONE_WIDTH, switch_language
    ui.open("/app/reports")
    switch_language(ui, "中文", ui.find("[data-testid=change-language]").text)
    ui.driver.set_window_size(PHONE_WIDTH, PHONE_HEIGHT)
    ui.open("/app/reports")
    ui.choose("#report-entity", value="account")
    ui.click_and_load(ui.find("[data-testid=new-report] button[type=submit]"))
    ui.type_into("#rp-name", "客户等级分布")
    ui.choose("#rp-group1", value="level")
    ui.choose("#rp-fn", value="count")
    ui.choose("#rp-chart", value="bar")
    ui.click_and_load(ui.find("[data-testid=report-form] button[type=submit]"))
    chart = ui.find("[data-testid=report-chart] svg")
    bars = chart.find_elements("css selector", "a")
    expect(bars, "the report page should draw a bar per level")
    header = ui.find("[data-testid=report-table] thead").text
    expect("客户等级" in header and "数量" in header, f"the table's columns should be Chinese; they read {header!r}")
    ui.no_sideways_scroll("the report page at 390x844")
    ui.screenshot("report-phone-zh")
    first_row = ui.find("[data-testid=report-table] tbody tr")
    count = int(first_row.find_elements("css selector", "td")[-1].text.replace(",", ""))
    ui.click_and_load(first_row.find_element("css selector", "td a"))
    total = int(ui.find("[data-testid=total]").text.rstrip("+"))
    expect(total == count, f"the drill-down list should hold the group's {count} accounts; it says {total}")
    ui.driver.back()
    href = ui.find("[data-testid=report-xlsx]").get_attribute("href")
    path = href[href.index("/api/"):]
    with tempfile.TemporaryDirectory(prefix="atrium-report-") as directory:
        workbook = os.path.join(directory, "report.xlsx")
        with open(workbook, "wb") as handle:
            handle.write(download(ui, path))
        libreoffice(workbook, 'csv:Text - txt - csv (StarCalc):44,34,76', directory)
        with open(os.path.join(directory, "report.csv"), encoding="utf-8-sig") as handle:
            rows = list(csv.reader(handle))
    expect(rows and "数量" in rows[0][-1] and rows[-1][0] == "Σ", f"LibreOffice should read the report's sheet; it reads {rows}")
    back_to_the_administrator(ui)


EXCEL_CHECKS = [
    an_excel_workbook_from_libreoffice_imports_and_the_excel_export_opens_in_libreoffice,
    a_report_is_built_in_chinese_on_a_phone_drills_down_and_exports_to_excel,
]
