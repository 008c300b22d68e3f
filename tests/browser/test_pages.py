"""The pages in a real browser: log in, draw, correct, upload, themes, touch."""

from __future__ import annotations

import base64
import re
import time

import pytest
from playwright.sync_api import expect

from recognizer.models import Submission
from tests.browser.conftest import PREDICTION_TIMEOUT_MS, log_in
from tests.factories import SubmissionFactory
from tests.images import digit_png, sample_digit

pytestmark = pytest.mark.browser

# Strokes in fractions of the canvas side: a seven, with a bar and a long diagonal.
SEVEN = [[(0.24, 0.22), (0.50, 0.21), (0.76, 0.22)], [(0.76, 0.22), (0.62, 0.50), (0.48, 0.82)]]
# A one: a single upright stroke.
ONE = [[(0.52, 0.16), (0.51, 0.50), (0.50, 0.84)]]

COUNT_INK = """() => {
  const canvas = document.getElementById("pad");
  const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let ink = 0;
  for (let i = 0; i < data.length; i += 4) if (data[i] < 128) ink++;
  return ink;
}"""


# A control without an accessible name shows in the ARIA snapshot as a bare role.
UNNAMED = re.compile(r"^\s*- (button|link|combobox|img|textbox|checkbox)(:|$)", re.MULTILINE)


def assert_everything_named(page) -> None:
    snapshot = page.locator("body").aria_snapshot()
    assert not UNNAMED.findall(snapshot), snapshot


def draw(page, strokes) -> None:
    """Draw with the mouse, moving in small steps as a hand would."""
    box = page.locator("#pad").bounding_box()
    for stroke in strokes:
        points = [(box["x"] + x * box["width"], box["y"] + y * box["height"]) for x, y in stroke]
        page.mouse.move(*points[0])
        page.mouse.down()
        for point in points[1:]:
            page.mouse.move(*point, steps=12)
        page.mouse.up()


def prediction(page) -> str:
    """Wait until the panel shows a finished prediction with nothing on its way; return the digit."""
    page.locator('#result[data-state="done"][data-busy="false"]').wait_for(timeout=PREDICTION_TIMEOUT_MS)
    return page.locator("#result-digit").inner_text()


def stored_prediction(page) -> str:
    """Press Predict and wait until the panel shows the stored submission's answer; return the digit."""
    page.get_by_role("button", name="Predict").click()
    page.locator('#result[data-kind="canvas"][data-state="done"][data-busy="false"]').wait_for(
        timeout=PREDICTION_TIMEOUT_MS
    )
    return page.locator("#result-digit").inner_text()


def wait_until(condition, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_log_in_leads_to_the_draw_page(page, user, password):
    page.goto("/draw/")
    assert "/accounts/login/" in page.url
    log_in(page, user.username, password)
    expect(page.get_by_role("heading", name="Draw a digit")).to_be_visible()
    expect(page.locator("#result-hint")).to_be_visible()
    expect(page.locator("#result-digit")).to_be_hidden()


@pytest.mark.parametrize(("strokes", "digit"), [(SEVEN, "7"), (ONE, "1")], ids=["seven", "one"])
def test_drawing_with_the_mouse_shows_the_right_prediction(drawing_page, strokes, digit):
    page = drawing_page
    draw(page, strokes)
    assert prediction(page) == digit
    expect(page.locator("#result-confidence")).to_contain_text("% sure")
    bars = page.locator("#bars li")
    expect(bars).to_have_count(10)
    expect(page.locator(f'#bars li.top[data-digit="{digit}"]')).to_have_count(1)
    # Once the drawing is stored, the 28x28 input the model saw is shown beside it.
    expect(page.locator("#input-figure")).to_be_hidden()
    assert stored_prediction(page) == digit
    expect(page.locator("#input-image")).to_have_js_property("naturalWidth", 28)


def test_correcting_a_drawing_and_finding_it_in_history(drawing_page, user):
    page = drawing_page
    draw(page, SEVEN)
    assert prediction(page) == "7"
    page.get_by_role("button", name="It was 9").click()
    expect(page.locator("#correct-status")).to_contain_text("Saved: it was 9")
    expect(page.get_by_role("button", name="It was 9")).to_have_attribute("aria-pressed", "true")
    # A digit key corrects too, and replaces the label.
    page.keyboard.press("4")
    expect(page.locator("#correct-status")).to_contain_text("Saved: it was 4")
    expect(page.get_by_role("button", name="It was 9")).to_have_attribute("aria-pressed", "false")
    assert_everything_named(page)

    # Previews stored nothing: the correction stored the drawing, once.
    assert wait_until(lambda: Submission.objects.filter(owner=user).count() == 1)
    submission = Submission.objects.select_related("correction").get(owner=user)
    assert (submission.source, submission.predicted_digit, submission.correction.label) == ("canvas", 7, 4)

    page.get_by_role("link", name="History", exact=True).click()
    row = page.locator(f"#submission-{submission.pk}")
    expect(row).to_contain_text("Corrected to 4")
    expect(row.locator(".submission-digit")).to_have_text("7")
    expect(row.locator(".correct-select")).to_have_value("4")
    assert_everything_named(page)

    # Correct again from the list, then delete it.
    row.locator(".correct-select").select_option("2")
    expect(row).to_contain_text("Corrected to 2")
    assert wait_until(lambda: Submission.objects.get(pk=submission.pk).correction.label == 2)
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name=f"Delete submission {submission.pk}").click()
    expect(row).to_have_count(0)
    assert wait_until(lambda: not Submission.objects.filter(pk=submission.pk).exists())


def test_uploading_a_file_shows_the_prediction_and_what_the_model_saw(drawing_page, user):
    page = drawing_page
    _, label = sample_digit(0)
    page.locator("#file-input").set_input_files(
        files=[{"name": "digit.png", "mimeType": "image/png", "buffer": digit_png(0)}]
    )
    assert prediction(page) == str(label)
    original = page.locator("#original-image")
    expect(original).to_have_attribute("src", re.compile(r"^blob:"))
    expect(original).to_have_js_property("complete", True)
    assert original.evaluate("image => image.naturalWidth") == 280  # shown: the policy allows blob: pictures
    expect(page.locator("#input-image")).to_have_js_property("naturalWidth", 28)
    assert Submission.objects.get(owner=user).source == "upload"


MAKE_FILE = """(b64) => {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const transfer = new DataTransfer();
  transfer.items.add(new File([bytes], "digit.png", { type: "image/png" }));
  return transfer;
}"""


@pytest.mark.parametrize("how", ["drop", "paste"])
def test_dropping_or_pasting_a_picture_predicts_it(drawing_page, user, how):
    page = drawing_page
    _, label = sample_digit(1)
    transfer = page.evaluate_handle(MAKE_FILE, base64.b64encode(digit_png(1)).decode())
    if how == "drop":
        page.dispatch_event("#pad", "dragenter", {"dataTransfer": transfer})
        expect(page.locator("#drop-zone")).to_have_class(re.compile("dragging"))
        page.dispatch_event("#pad", "drop", {"dataTransfer": transfer})
    else:
        page.evaluate(
            "(t) => document.dispatchEvent(new ClipboardEvent('paste', {clipboardData: t, bubbles: true}))", transfer
        )
    assert prediction(page) == str(label)
    expect(page.locator("#drop-zone")).not_to_have_class(re.compile("dragging"))
    assert Submission.objects.get(owner=user).source == "upload"


def test_a_prediction_still_pending_is_polled_until_done(drawing_page):
    """With a worker, the API may answer 202 first; the page then polls the submission."""
    page = drawing_page
    polled = []

    def answer_pending(route):
        response = route.fetch()
        submission = response.json()
        page.on("request", lambda r: polled.append(r.url) if r.url.endswith(f"/{submission['id']}/") else None)
        location = f"/api/v1/submissions/{submission['id']}/"
        pending = {**submission, "status": "pending", "prediction": None}
        route.fulfill(status=202, json=pending, headers={"Location": location})

    page.route("**/api/v1/submissions/?wait=*", answer_pending)
    draw(page, ONE)
    assert stored_prediction(page) == "1"
    assert polled, "the page never polled the pending submission"


def test_a_pen_draws_too(drawing_page):
    page = drawing_page
    page.evaluate("window.pointerTypes = []; addEventListener('pointerdown', (e) => pointerTypes.push(e.pointerType))")
    box = page.locator("#pad").bounding_box()
    cdp = page.context.new_cdp_session(page)
    x, top, bottom = box["x"] + box["width"] / 2, box["y"] + box["height"] * 0.15, box["y"] + box["height"] * 0.85

    def pen(kind: str, y: float) -> None:
        event = {"type": kind, "x": x, "y": y, "button": "left", "buttons": 1, "clickCount": 1, "pointerType": "pen"}
        cdp.send("Input.dispatchMouseEvent", event)

    pen("mousePressed", top)
    for i in range(1, 13):
        pen("mouseMoved", top + (bottom - top) * i / 12)
    pen("mouseReleased", bottom)
    cdp.detach()
    assert page.evaluate("window.pointerTypes") == ["pen"]
    assert prediction(page) == "1"
    assert page.evaluate(COUNT_INK) > 0
    # Stored now: a drawing left on the page is stored as the page closes, which would race the test's teardown.
    assert stored_prediction(page) == "1"


def test_empty_canvas_shows_a_hint_and_clear_really_clears(drawing_page, user):
    page = drawing_page
    page.get_by_role("button", name="Predict").click()
    expect(page.locator("#result-hint")).to_contain_text("Draw a digit first")
    expect(page.locator("#result-main")).to_be_hidden()
    draw(page, ONE)
    prediction(page)
    assert page.evaluate(COUNT_INK) > 0
    page.get_by_role("button", name="Clear").click()
    assert page.evaluate(COUNT_INK) == 0
    expect(page.locator("#result-hint")).to_be_visible()
    expect(page.locator("#result-main")).to_be_hidden()
    # Undo takes back one stroke; Escape clears.
    draw(page, SEVEN)
    prediction(page)
    page.get_by_role("button", name="Undo").click()
    assert page.evaluate(COUNT_INK) > 0
    page.keyboard.press("Escape")
    assert page.evaluate(COUNT_INK) == 0
    expect(page.locator("#result-hint")).to_be_visible()
    # Clear stores the drawing it ends; undoing a drawing to nothing stores nothing of it.
    assert wait_until(lambda: Submission.objects.filter(owner=user).count() == 2)
    draw(page, ONE)
    prediction(page)
    page.keyboard.press("Control+z")
    assert page.evaluate(COUNT_INK) == 0
    expect(page.locator("#result-hint")).to_be_visible()
    expect(page.locator("#result-main")).to_be_hidden()
    expect(page.locator("#result")).to_have_attribute("data-busy", "false")
    assert Submission.objects.filter(owner=user).count() == 2


def test_dark_mode_toggle_is_remembered(drawing_page):
    page = drawing_page
    html = page.locator("html")
    background = "getComputedStyle(document.body).backgroundColor"
    light = page.evaluate(background)
    toggle = page.get_by_role("button", name="Toggle dark mode")
    expect(toggle).to_have_attribute("aria-pressed", "false")
    toggle.click()
    expect(html).to_have_attribute("data-theme", "dark")
    expect(toggle).to_have_attribute("aria-pressed", "true")
    dark = page.evaluate(background)
    assert dark != light
    page.reload()
    expect(html).to_have_attribute("data-theme", "dark")
    assert page.evaluate(background) == dark
    page.get_by_role("button", name="Toggle dark mode").click()
    expect(html).to_have_attribute("data-theme", "light")


def test_theme_follows_the_system_until_toggled(drawing_page):
    page = drawing_page
    background = "getComputedStyle(document.body).backgroundColor"
    light = page.evaluate(background)
    page.emulate_media(color_scheme="dark")
    page.reload()
    expect(page.locator("html")).to_have_attribute("data-theme", "auto")
    assert page.evaluate(background) != light
    toggle = page.get_by_role("button", name="Toggle dark mode")
    expect(toggle).to_have_attribute("aria-pressed", "true")
    toggle.click()
    expect(page.locator("html")).to_have_attribute("data-theme", "light")
    assert page.evaluate(background) == light


@pytest.fixture
def phone(chromium, live_server, user, password):
    context = chromium.new_context(
        base_url=live_server.url,
        viewport={"width": 390, "height": 700},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    page = context.new_page()
    log_in(page, user.username, password)
    yield page
    context.close()


def swipe(page, start: tuple[float, float], end: tuple[float, float], steps: int = 12) -> None:
    """A one-finger swipe, sent as real touch input through the DevTools protocol."""
    cdp = page.context.new_cdp_session(page)
    (x0, y0), (x1, y1) = start, end
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x0, "y": y0}]})
    for i in range(1, steps + 1):
        x, y = x0 + (x1 - x0) * i / steps, y0 + (y1 - y0) * i / steps
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()


def test_touch_drawing_draws_instead_of_scrolling(phone):
    page = phone
    assert page.evaluate("document.documentElement.scrollHeight > window.innerHeight"), "the page must be scrollable"
    box = page.locator("#pad").bounding_box()
    left, top, width, height = box["x"], box["y"], box["width"], box["height"]
    # An upward swipe on the canvas: on a plain page this scrolls down.
    swipe(page, (left + width * 0.5, top + height * 0.85), (left + width * 0.5, top + height * 0.15))
    prediction(page)
    assert page.evaluate("window.scrollY") == 0
    assert page.evaluate(COUNT_INK) > 0
    # The same swipe on the heading does scroll, so the check above means something.
    heading = page.get_by_role("heading", name="Draw a digit").bounding_box()
    x, y = heading["x"] + 10, heading["y"] + heading["height"] / 2
    swipe(page, (x, y), (x, 1))
    page.wait_for_function("window.scrollY > 0")
    # Stored now: a drawing left on the page is stored as the page closes, which would race the test's teardown.
    stored_prediction(page)


def flag_what_is_stored(page, reason: str) -> None:
    """Store the detector's verdict `reason` on every drawing the page sends, then let the page read it back.

    The POST is answered 202 pending, so the page polls GET and shows what is stored, as with a worker.
    """

    def answer_pending(route):
        submission = route.fetch().json()
        Submission.objects.filter(pk=submission["id"]).update(is_digit=False, reason=reason)
        location = f"/api/v1/submissions/{submission['id']}/"
        route.fulfill(
            status=202, json={**submission, "status": "pending", "prediction": None}, headers={"Location": location}
        )

    page.route("**/api/v1/submissions/?wait=*", answer_pending)


@pytest.mark.parametrize(
    ("reason", "message"),
    [("not_a_digit", "That doesn't look like a digit"), ("several_digits", "That looks like more than one digit")],
)
def test_a_flagged_drawing_says_so_with_the_closest_digit_small(drawing_page, user, reason, message):
    page = drawing_page
    flag_what_is_stored(page, reason)
    draw(page, SEVEN)
    page.get_by_role("button", name="Predict").click()
    page.locator(f'#result[data-state="done"][data-busy="false"][data-verdict="{reason}"]').wait_for(
        timeout=PREDICTION_TIMEOUT_MS
    )
    expect(page.locator("#result-verdict")).to_have_text(message)
    expect(page.locator("#result-closest")).to_have_text(re.compile(r"^closest digit: 7, \d+(\.\d)?%$"))
    # Never as the answer: no big digit, no "% sure".
    expect(page.locator("#result-digit")).to_be_hidden()
    expect(page.locator("#result-confidence")).to_be_hidden()
    expect(page.locator("#correct-label")).to_have_text("Is it a digit after all? It was:")
    # The model's answer is "not a digit": that button, not the 7, is marked as the prediction.
    expect(page.get_by_role("button", name="It was not a digit")).to_have_class(re.compile(r"\bpredicted\b"))
    expect(page.get_by_role("button", name="It was 7")).not_to_have_class(re.compile(r"\bpredicted\b"))
    assert_everything_named(page)
    page.screenshot(path=f"/tmp/draw-{reason}.png")

    # A drawing of a 7 really: the digit button corrects it as it always did.
    page.get_by_role("button", name="It was 7").click()
    expect(page.locator("#correct-status")).to_contain_text("Saved: it was 7")
    assert wait_until(lambda: Submission.objects.filter(owner=user, correction__label=7).count() == 1)


def test_the_not_a_digit_button_saves_a_null_label_and_takes_it_back(drawing_page, user):
    page = drawing_page
    draw(page, SEVEN)
    assert prediction(page) == "7"
    # A version without a detector: the answer shows as it always did.
    expect(page.locator("#result")).to_have_attribute("data-verdict", re.compile(r"^(unknown|digit)$"))
    expect(page.locator("#result-verdict")).to_be_hidden()
    sent = []
    page.on("request", lambda r: sent.append(r.post_data_json) if r.method == "PUT" else None)

    page.get_by_role("button", name="It was not a digit").click()

    expect(page.locator("#correct-status")).to_contain_text("Saved: not a digit")
    expect(page.locator("#result")).to_have_attribute("data-correction", "none")
    expect(page.get_by_role("button", name="It was not a digit")).to_have_attribute("aria-pressed", "true")
    assert sent == [{"label": None}]
    assert wait_until(lambda: Submission.objects.filter(owner=user, is_corrected=True).count() == 1)
    submission = Submission.objects.select_related("correction").get(owner=user, is_corrected=True)
    assert submission.correction.label is None

    # The N key is the same button: pressed again, it takes the correction back.
    page.keyboard.press("n")
    expect(page.locator("#correct-status")).to_contain_text("Correction removed")
    expect(page.locator("#result")).to_have_attribute("data-correction", "")
    assert wait_until(lambda: not Submission.objects.get(pk=submission.pk).is_corrected)


def test_history_shows_the_verdict_filters_it_and_marks_not_a_digit(drawing_page, user):
    page = drawing_page
    flagged = SubmissionFactory(owner=user, not_a_digit=True, predicted_digit=4, confidence=0.37)
    digit = SubmissionFactory(owner=user, checked_digit=True, predicted_digit=6)

    page.goto("/history/")
    row = page.locator(f"#submission-{flagged.pk}")
    expect(row.locator(".badge.flagged")).to_have_text("Not a digit")
    expect(row).to_contain_text("closest digit: 4, 37%")
    expect(row.locator(".submission-digit")).to_have_count(0)
    expect(page.locator(f"#submission-{digit.pk} .submission-digit")).to_have_text("6")

    page.get_by_label("Digit or not").select_option(label="Not digits")
    page.wait_for_url(re.compile(r"is_digit=false"))
    expect(page.locator(".submission")).to_have_count(1)
    row = page.locator(f"#submission-{flagged.pk}")
    row.locator(".correct-select").select_option(label="Not a digit")
    expect(row.locator(".correction-text")).to_have_text("Marked not a digit")
    expect(page.locator("#history-status")).to_contain_text(f"Submission {flagged.pk} marked not a digit")
    assert wait_until(lambda: Submission.objects.get(pk=flagged.pk).is_corrected)
    assert Submission.objects.select_related("correction").get(pk=flagged.pk).correction.label is None
    page.reload()
    expect(page.locator(f"#submission-{flagged.pk} .correct-select")).to_have_value("none")
    assert_everything_named(page)


def test_a_drawing_is_previewed_while_drawn_and_stored_once_when_it_ends(drawing_page, user):
    page = drawing_page
    previews = []
    page.on("request", lambda r: previews.append(r.url) if r.url.endswith("/api/v1/predictions/") else None)

    def rows():
        return Submission.objects.filter(owner=user).order_by("pk")

    # A seven drawn stroke by stroke, pausing after each: every pause is previewed, nothing is stored.
    for stroke in SEVEN:
        draw(page, [stroke])
        prediction(page)
    assert prediction(page) == "7"
    assert len(previews) >= 2
    assert not rows().exists()
    # Predict ends it: one row. Pressing it again, or Clear, adds none.
    assert stored_prediction(page) == "7"
    page.get_by_role("button", name="Predict").click()
    page.get_by_role("button", name="Clear").click()
    expect(page.locator("#result")).to_have_attribute("data-busy", "false")
    assert [(row.source, row.predicted_digit) for row in rows()] == [("canvas", 7)]

    # A one, drawn with pauses and ended by Clear: one more row.
    for stroke in [ONE[0][:2], ONE[0][1:]]:
        draw(page, [stroke])
        prediction(page)
    page.get_by_role("button", name="Clear").click()
    assert wait_until(lambda: rows().count() == 2)

    # A seven ended by a correction: stored once, then corrected.
    for stroke in SEVEN:
        draw(page, [stroke])
        prediction(page)
    page.keyboard.press("9")
    expect(page.locator("#correct-status")).to_contain_text("Saved: it was 9")
    page.keyboard.press("4")
    expect(page.locator("#correct-status")).to_contain_text("Saved: it was 4")
    expect(page.locator("#result")).to_have_attribute("data-busy", "false")
    assert wait_until(lambda: rows().filter(correction__label=4).exists())
    assert sorted(row.predicted_digit for row in rows()) == [1, 7, 7]

    # Cleared after its correction: nothing more to store. A last one left on the page: stored as the person leaves.
    page.get_by_role("button", name="Clear").click()
    draw(page, ONE)
    prediction(page)
    page.get_by_role("link", name="History", exact=True).click()
    assert wait_until(lambda: rows().count() == 4)
    assert sorted(row.predicted_digit for row in rows()) == [1, 1, 7, 7]


# Numbers: strokes of each digit in fractions of its own cell (x across, y down), placed in a row on the wide pad.
def _ring(cx: float, cy: float, rx: float, ry: float, count: int = 20) -> list[tuple[float, float]]:
    import math

    return [
        (cx + rx * math.sin(2 * math.pi * i / count), cy - ry * math.cos(2 * math.pi * i / count))
        for i in range(count + 1)
    ]


NUMBER_DIGITS = {
    "2": [
        [(0.08, 0.28), (0.25, 0.06), (0.6, 0.02), (0.88, 0.2), (0.85, 0.45), (0.5, 0.72), (0.08, 0.97), (0.95, 0.97)]
    ],
    "0": [_ring(0.5, 0.5, 0.42, 0.48)],
    "6": [
        [(0.78, 0.02), (0.45, 0.22), (0.2, 0.5), (0.12, 0.75), (0.3, 0.97), (0.65, 0.97)],
        [(0.65, 0.97), (0.88, 0.78), (0.75, 0.52), (0.45, 0.48), (0.18, 0.66)],
    ],
}


def number_strokes(digits: str) -> list[list[tuple[float, float]]]:
    """The strokes of `digits` written in a row on the number pad (three times as wide as high)."""
    strokes = []
    for index, digit in enumerate(digits):
        left = 0.1 + index * 0.21  # of the pad's width; a cell is 0.13 wide (0.39 of the height) and 0.7 high
        for stroke in NUMBER_DIGITS[digit]:
            strokes.append([(left + x * 0.13, 0.15 + y * 0.7) for x, y in stroke])
    return strokes


def test_writing_a_number_with_the_mouse_reads_it_and_corrects_one_digit(drawing_page, user):
    page = drawing_page
    page.get_by_role("button", name="Number").click()
    expect(page.get_by_role("heading", name="Write a number")).to_be_visible()
    box = page.locator("#pad").bounding_box()
    assert box["width"] > 2.5 * box["height"]  # the wide pad
    draw(page, number_strokes("2026"))
    assert stored_prediction(page) == "2026"
    expect(page.locator(".number-box")).to_have_count(4)
    expect(page.locator("#result-confidence")).to_contain_text("% sure")
    expect(page.locator(".number-box .box-label").first).to_contain_text("2 · ")
    expect(page.locator(".number-box").first).to_have_attribute(
        "aria-label", re.compile(r"^Digit 1: read as 2, .* sure$")
    )
    submission = Submission.objects.get(owner=user)
    assert (submission.kind, submission.number, submission.digits.count()) == ("number", "2026", 4)

    # Pick the last digit over the picture and say what it was: the number is corrected there.
    page.locator(".number-box").nth(3).click()
    page.get_by_role("button", name="It was 8").click()
    expect(page.locator("#correct-status")).to_contain_text("Saved: it was 2028")
    expect(page.locator(".number-box.corrected")).to_have_count(1)
    expect(page.locator(".number-box.corrected .box-label")).to_contain_text("6 · ")
    expect(page.locator(".number-box.corrected .box-label")).to_contain_text("→ 8")
    assert wait_until(lambda: Submission.objects.get(pk=submission.pk).correction.number == "2028")

    # Or type the whole number on the keyboard, and Enter.
    page.locator(".number-box").nth(3).click()  # unpick
    page.keyboard.type("2027")
    page.keyboard.press("Enter")
    expect(page.locator("#correct-status")).to_contain_text("Saved: it was 2027")
    assert wait_until(lambda: Submission.objects.get(pk=submission.pk).correction.number == "2027")
    assert_everything_named(page)

    # History shows numbers, and filters by kind.
    page.goto("/history/?kind=number")
    row = page.locator(f"#submission-{submission.pk}")
    expect(row.locator(".submission-number")).to_have_text("2026")
    expect(row).to_contain_text("Corrected to 2027")
    page.goto("/history/?kind=digit")
    expect(page.locator(f"#submission-{submission.pk}")).to_have_count(0)


def test_a_piece_of_a_number_is_picked_and_marked_not_a_digit(drawing_page, user):
    page = drawing_page
    page.get_by_role("button", name="Number").click()
    draw(page, number_strokes("2026"))
    assert stored_prediction(page) == "2026"
    not_a_digit = page.get_by_role("button", name="It was not a digit")
    # Offered for a picked piece only: the number as a whole is typed.
    expect(not_a_digit).to_be_hidden()
    page.locator(".number-box").nth(2).click()
    expect(not_a_digit).to_be_visible()

    expect(not_a_digit).to_have_attribute("aria-pressed", "false")
    not_a_digit.click()
    expect(page.locator("#correct-status")).to_contain_text("Saved: it was 206 (1 piece not a digit)")
    expect(not_a_digit).to_have_attribute("aria-pressed", "true")  # what is saved for the picked piece
    marked = page.locator(".number-box").nth(2)
    expect(marked).to_have_class(re.compile(r"\bnot-digit\b"))
    expect(marked.locator(".box-label")).to_contain_text("→ ✕")
    expect(marked).to_have_attribute("aria-label", re.compile(r"corrected to not a digit$"))
    submission = Submission.objects.get(owner=user)
    assert wait_until(lambda: Submission.objects.get(pk=submission.pk).correction.not_digits == [2])
    assert Submission.objects.get(pk=submission.pk).correction.number == "206"
    expect(page.locator("#number-input")).to_have_value("206")

    # Typing the number afterwards keeps the mark: three digits for the three other pieces.
    marked.click()  # unpick
    expect(not_a_digit).to_be_hidden()
    page.keyboard.type("207")
    page.keyboard.press("Enter")
    expect(page.locator("#correct-status")).to_contain_text("Saved: it was 207 (1 piece not a digit)")
    assert wait_until(lambda: Submission.objects.get(pk=submission.pk).correction.number == "207")
    assert Submission.objects.get(pk=submission.pk).correction.not_digits == [2]

    # The piece is a digit again once given one, with the keyboard this time.
    page.locator(".number-box").nth(2).click()
    page.keyboard.press("2")
    expect(page.locator("#correct-status")).to_contain_text("Saved: it was 2027.")
    expect(page.get_by_role("button", name="It was 2", exact=True)).to_have_attribute("aria-pressed", "true")
    expect(not_a_digit).to_have_attribute("aria-pressed", "false")
    expect(page.locator(".number-box.not-digit")).to_have_count(0)
    assert wait_until(lambda: Submission.objects.get(pk=submission.pk).correction.not_digits == [])
    assert_everything_named(page)

    page.goto("/history/?kind=number")
    expect(page.locator(f"#submission-{submission.pk}")).to_contain_text("Corrected to 2027")
