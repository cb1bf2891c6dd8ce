#!/usr/bin/env python3
"""Drives the web UI in headless Chromium (Debian's chromium, chromium-driver
and python3-selenium), as an operator would:

    ui_browser.py --url http://127.0.0.1:PORT --token TOKEN --screenshots DIR --out RESULT.json

1. the alerts page shows the firing alerts (node_down to receiver oncall,
   disk_full to receiver broken, and a hostile one whose data must stay text);
   a label chip filters the page;
2. the "Silence" link of node_down opens the form pre-filled with its labels;
   the token is given once (the cookie then carries it), a duration shortcut
   sets the end, the preview lists node_down, and Create saves the silence;
3. the silences page lists it as active; Edit changes its comment under the
   same id; a second silence is created and expired with its button; the
   alerts page shows node_down silenced by the first, and, without a reload,
   a silence made meanwhile (its automatic refresh);
4. the notifications page shows a sent webhook notification for oncall and a
   dead-lettered one for broken (its webhook answers 400);
5. the status page shows the NATS connection and the outbox.

Every wait polls with a bound; nothing depends on timing. Writes the created
silence's id, the console messages of level SEVERE and the screenshots taken
to --out; exits 1 with the reason (and a screenshot "failure.png" next to
--out) when a step fails.
"""
import argparse
import json
import os
import sys
import time

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

parser = argparse.ArgumentParser()
parser.add_argument("--url", required=True)
parser.add_argument("--token", required=True)
parser.add_argument("--screenshots", required=True)
parser.add_argument("--out", required=True)
parser.add_argument("--chromium", default="/usr/bin/chromium")
parser.add_argument("--chromedriver", default="/usr/bin/chromedriver")
args = parser.parse_args()

os.makedirs(args.screenshots, exist_ok=True)
result = {"silence_id": None, "console_errors": [], "console": [], "screenshots": [], "steps": []}


class StepFailed(Exception):
    pass


def save_result():
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=2)


options = webdriver.ChromeOptions()
options.binary_location = args.chromium
for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,900",
                 "--no-first-run", "--disable-extensions", "--lang=en-US"]:
    options.add_argument(argument)
options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
driver = webdriver.Chrome(service=Service(args.chromedriver), options=options)
driver.set_page_load_timeout(30)


def collect_console():
    for entry in driver.get_log("browser"):
        result["console"].append(entry)
        if entry.get("level") == "SEVERE":
            result["console_errors"].append(entry.get("message", ""))


def step(name):
    result["steps"].append(name)
    sys.stdout.write("step: %s\n" % name)
    sys.stdout.flush()


def poll(description, condition, timeout=30.0, reload_between=False):
    """Calls condition() until it returns something truthy; at most `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = condition()
            if value:
                return value
        except WebDriverException:
            pass
        if time.monotonic() > deadline:
            raise StepFailed("timed out waiting for " + description)
        time.sleep(0.5)
        if reload_between:
            driver.refresh()


def visit(path):
    driver.get(args.url + path)
    collect_console()


def screenshot(name):
    # The whole page: grow the window until the viewport holds the document (the window's own frame is not known beforehand).
    for _ in range(3):
        inner, full, outer = driver.execute_script(
            "return [window.innerHeight, document.documentElement.scrollHeight, window.outerHeight]")
        if inner >= full:
            break
        driver.set_window_size(1280, min(outer + full - inner, 5000))
    path = os.path.join(args.screenshots, name)
    driver.save_screenshot(path)
    driver.set_window_size(1280, 900)
    result["screenshots"].append(path)


def alert_article(alertname):
    xpath = "//article[contains(@class,'alert')][.//a[contains(@class,'chip') and normalize-space(.)='alertname=\"%s\"']]" % alertname
    found = driver.find_elements(By.XPATH, xpath)
    return found[0] if found else None


def page_text():
    return driver.find_element(By.TAG_NAME, "body").text


try:
    step("the alerts page shows the firing alerts")
    visit("/")
    poll("node_down, disk_full and xss_probe on the alerts page",
         lambda: all(alert_article(name) for name in ["node_down", "disk_full", "xss_probe"]), reload_between=True)
    hostile = alert_article("xss_probe")
    if "<script>alert(1)</script>" not in hostile.text:
        raise StepFailed("the hostile label is not shown as text: " + hostile.text)
    if hostile.find_elements(By.XPATH, ".//a[starts-with(translate(@href,'JAVSCRIPT','javscript'),'javascript:')]"):
        raise StepFailed("a javascript: URL became a link")
    if driver.find_elements(By.XPATH, "//h2[starts-with(normalize-space(.),'oncall')]") == [] or \
            driver.find_elements(By.XPATH, "//h2[starts-with(normalize-space(.),'broken')]") == []:
        raise StepFailed("the receivers oncall and broken are not both shown")
    collect_console()
    screenshot("alerts.png")

    step("a label chip filters the alerts page")
    alert_article("node_down").find_element(By.XPATH, ".//a[contains(@class,'chip') and normalize-space(.)='severity=\"critical\"']").click()
    poll("only node_down under the filter", lambda: "filter=" in driver.current_url and alert_article("node_down")
         and not alert_article("disk_full"))
    if driver.find_element(By.ID, "filter").get_attribute("value") != '{severity="critical"}':
        raise StepFailed("the filter box does not show the chip's matcher")
    visit("/")
    poll("the unfiltered alerts page", lambda: alert_article("node_down"))

    step("silence node_down from its alert")
    alert_article("node_down").find_element(By.CSS_SELECTOR, "a.action").click()
    poll("the silence form", lambda: driver.find_elements(By.ID, "silence-form"))
    matchers = driver.find_element(By.NAME, "matchers").get_attribute("value")
    if 'alertname="node_down"' not in matchers:
        raise StepFailed("the form is not pre-filled with the alert's labels: " + matchers)
    token_forms = driver.find_elements(By.ID, "token-form")
    if not token_forms:
        raise StepFailed("the UI did not ask for the token")
    token_forms[0].find_element(By.NAME, "token").send_keys(args.token)
    token_forms[0].find_element(By.TAG_NAME, "button").click()
    poll("writes unlocked", lambda: "writes unlocked" in page_text())
    if 'alertname="node_down"' not in driver.find_element(By.NAME, "matchers").get_attribute("value"):
        raise StepFailed("the form lost its matchers after the token was given")
    driver.find_element(By.XPATH, "//button[@data-duration and normalize-space(.)='4h']").click()
    starts = driver.find_element(By.NAME, "startsAt").get_attribute("value")
    ends = driver.find_element(By.NAME, "endsAt").get_attribute("value")
    span = driver.execute_script("return (Date.parse(arguments[1]) - Date.parse(arguments[0])) / 1000", starts, ends)
    if span != 4 * 3600:
        raise StepFailed("the 4h shortcut set a span of %r seconds" % span)
    driver.find_element(By.NAME, "createdBy").send_keys("browser")
    driver.find_element(By.NAME, "comment").send_keys("silenced from the web UI")
    driver.find_element(By.ID, "preview-button").click()
    poll("the preview", lambda: driver.find_element(By.ID, "preview").is_displayed()
         and driver.find_element(By.ID, "preview-count").text == "1")
    if 'alertname="node_down"' not in driver.find_element(By.ID, "preview-list").text:
        raise StepFailed("the preview does not list node_down: " + driver.find_element(By.ID, "preview-list").text)
    collect_console()
    screenshot("silence-form.png")
    driver.find_element(By.ID, "save-button").click()
    try:
        poll("the silences page after Create", lambda: driver.current_url.endswith("/ui/silences"))
    except StepFailed:
        raise StepFailed("Create did not lead to the silences page; the form says: " + driver.find_element(By.ID, "silence-message").text)
    article = poll("the new silence listed as active",
                   lambda: driver.find_elements(By.XPATH, "//section[h2[starts-with(normalize-space(.),'active')]]"
                                                          "//article[contains(., 'silenced from the web UI')]"))[0]
    result["silence_id"] = article.get_attribute("id").removeprefix("silence-")

    step("edit the silence's comment")
    article.find_element(By.LINK_TEXT, "Edit").click()
    poll("the edit form", lambda: driver.find_elements(By.XPATH, "//h1[normalize-space(.)='Edit silence']"))
    comment = driver.find_element(By.NAME, "comment")
    comment.send_keys(" (edited)")
    driver.find_element(By.ID, "save-button").click()
    poll("the edited silence, same id",
         lambda: driver.current_url.endswith("/ui/silences")
         and "silenced from the web UI (edited)" in driver.find_element(By.ID, "silence-" + result["silence_id"]).text)

    step("create a silence for disk_full and expire it")
    visit("/ui/silences/new?matchers=" + "alertname%3D%22disk_full%22")
    driver.find_element(By.NAME, "createdBy").send_keys("browser")
    driver.find_element(By.NAME, "comment").send_keys("to be expired")
    driver.find_element(By.ID, "save-button").click()
    expiring = poll("the disk_full silence listed as active",
                    lambda: driver.find_elements(By.XPATH, "//section[h2[starts-with(normalize-space(.),'active')]]"
                                                           "//article[contains(., 'to be expired')]"))[0]
    expiring.find_element(By.XPATH, ".//button[@data-expire]").click()
    poll("the disk_full silence listed as expired",
         lambda: driver.find_elements(By.XPATH, "//section[h2[starts-with(normalize-space(.),'expired')]]"
                                                "//article[contains(., 'to be expired')]"))
    collect_console()
    screenshot("silences.png")

    step("the alerts page shows node_down silenced")
    visit("/")
    poll("node_down silenced by the new silence",
         lambda: alert_article("node_down") and "silenced by " + result["silence_id"] in alert_article("node_down").text,
         reload_between=True)
    collect_console()

    step("the alerts page refreshes itself: a silence made meanwhile shows without a reload")
    driver.execute_script("document.getElementById('content').dataset.loaded = 'first'")
    created = driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const now = Date.now();
        fetch("/api/v2/silences", {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify({
            matchers: [{name: "alertname", value: "xss_probe", isRegex: false, isEqual: true}],
            startsAt: new Date(now).toISOString(), endsAt: new Date(now + 3600000).toISOString(),
            createdBy: "browser", comment: "made behind the page's back"})}).then((r) => done(r.status), (e) => done(String(e)));
    """)
    if created != 200:
        raise StepFailed("the silence POST from the page's origin answered %r" % created)
    poll("xss_probe silenced after an automatic refresh",
         lambda: "silenced by" in alert_article("xss_probe").text, timeout=40)
    if driver.execute_script("return document.getElementById('content').dataset.loaded") == "first":
        raise StepFailed("the content changed but was not swapped by the refresh")
    collect_console()

    step("the notifications page shows a sent and a dead-lettered notification")
    visit("/ui/notifications")

    def outcome_of(receiver, outcome):
        return driver.find_elements(By.XPATH, "//section[h2[normalize-space(.)='%s']]//tr[contains(@class,'outcome-%s')]" % (receiver, outcome))

    poll("sent to oncall and dead-lettered for broken",
         lambda: outcome_of("oncall", "sent") and outcome_of("broken", "dead_lettered"), timeout=60, reload_between=True)
    dead = outcome_of("broken", "dead_lettered")[0].text
    if "400" not in dead:
        raise StepFailed("the dead-lettered row does not show the receiver's 400: " + dead)
    result["sent_row"] = outcome_of("oncall", "sent")[0].text
    result["dead_lettered_row"] = dead
    collect_console()
    screenshot("notifications.png")

    step("the status page shows NATS and the outbox")
    visit("/ui/status")
    poll("NATS connected", lambda: driver.find_element(By.ID, "nats-state").text == "connected", reload_between=True)
    if not driver.find_elements(By.ID, "outbox-backlog"):
        raise StepFailed("no outbox backlog on the status page")
    collect_console()
    screenshot("status.png")
except Exception as error:  # report any failure, with a picture of where it happened
    result["failure"] = "%s: %s" % (type(error).__name__, error)
    try:
        collect_console()
        driver.save_screenshot(os.path.join(os.path.dirname(os.path.abspath(args.out)), "failure.png"))
    except Exception:
        pass
    save_result()
    driver.quit()
    sys.stdout.write("failed: %s\n" % result["failure"])
    sys.exit(1)

save_result()
driver.quit()
sys.stdout.write("done\n")
