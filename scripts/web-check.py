#!/usr/bin/env python3
"""The browser half of scripts/web-check.sh: drives headless Chromium through the
DevTools protocol over a pipe (--remote-debugging-pipe: no websocket, no port, only
the standard library) and checks the dashboard the way a person would use it.

    web-check.py BASE_URL SCRATCH_DIR [--screenshots]

Expects the queue web-check.sh prepares (jobs xss, hello, flaky, later, live; two
workers; `queuectl web` at BASE_URL); QUEUECTL_BINARY and QUEUECTL_DB name the CLI
and the database it checks against. Prints one "ok"/"FAIL" line per check and
exits 1 if any failed.
"""
import base64
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request


class Browser:
    """One headless Chromium with one page, driven by DevTools commands."""

    def __init__(self, width=1100, height=700, folder=None):
        # The profile goes in `folder` when given, so whoever removes that folder
        # removes it too, even if this process is killed.
        self.profile = tempfile.TemporaryDirectory(prefix="web-check-chromium-", dir=folder)
        to_chrome_r, self.to_chrome = os.pipe()
        self.from_chrome, from_chrome_w = os.pipe()

        def pipes_on_3_and_4():
            # Chromium reads commands on fd 3 and writes answers on fd 4.
            os.dup2(to_chrome_r, 100)
            os.dup2(from_chrome_w, 101)
            os.dup2(100, 3)
            os.dup2(101, 4)

        self.process = subprocess.Popen(
            ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             "--no-first-run", "--no-default-browser-check", "--remote-debugging-pipe",
             f"--user-data-dir={self.profile.name}", f"--window-size={width},{height}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=pipes_on_3_and_4, pass_fds=(3, 4), start_new_session=True)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.buffer = b""
        self.next_id = 0
        self.session = None
        targets = self.call("Target.getTargets")["targetInfos"]
        page = next(t for t in targets if t["type"] == "page")
        self.session = self.call("Target.attachToTarget", targetId=page["targetId"], flatten=True)["sessionId"]
        self.call("Page.enable")
        self.call("Runtime.enable")
        # The page's viewport is the window's size (screenshots are exactly this big).
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False)

    def call(self, method, timeout=15, **params):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params}
        if self.session and not method.startswith("Target."):
            message["sessionId"] = self.session
        os.write(self.to_chrome, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            while b"\0" in self.buffer:
                raw, self.buffer = self.buffer.split(b"\0", 1)
                answer = json.loads(raw)
                if answer.get("id") == self.next_id:
                    if "error" in answer:
                        raise RuntimeError(f"{method}: {answer['error']}")
                    return answer.get("result", {})
            if time.monotonic() > deadline:
                raise TimeoutError(f"{method}: no answer from chromium in {timeout} s")
            chunk = os.read(self.from_chrome, 65536)
            if not chunk:
                raise RuntimeError("chromium exited")
            self.buffer += chunk

    def eval(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    def wait_for(self, expression, timeout=10):
        """Polls a JavaScript expression until it is truthy; its value, or None at the deadline."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                value = self.eval(expression)
            except RuntimeError:
                value = None   # between two documents while navigating
            if value:
                return value
            time.sleep(0.1)
        return None

    def open(self, url):
        self.call("Page.navigate", url=url)
        if not self.wait_for(f"document.readyState === 'complete' && location.href === {json.dumps(url)}"):
            raise TimeoutError(f"{url} did not load")

    def screenshot(self, path):
        with open(path, "wb") as out:
            out.write(base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"]))

    def close(self):
        try:
            self.call("Browser.close", timeout=3)
        except Exception:
            pass
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.profile.cleanup()


def main():
    base, scratch = sys.argv[1].rstrip("/"), sys.argv[2]
    shots = "--screenshots" in sys.argv[3:]
    q = os.environ["QUEUECTL_BINARY"]

    def cli(*args):
        return subprocess.run([q, *args], check=True, capture_output=True, text=True).stdout

    def cli_json(*args):
        return json.loads(cli(*args, "--json"))

    failed = []

    def check(name, ok):
        print(("ok   " if ok else "FAIL ") + name, flush=True)
        if not ok:
            failed.append(name)

    browser = Browser(folder=scratch)
    try:
        # Overview: every state's card holds the count `status --json` gives, read
        # before and after the page (equal: nothing moved in between).
        before = cli_json("status")["jobs"]
        browser.open(base + "/")
        shown = browser.eval("Object.fromEntries([...document.querySelectorAll('[data-state]')]"
                             ".map(a => [a.dataset.state, Number(a.querySelector('b').textContent)]))")
        after = cli_json("status")["jobs"]
        check("status --json did not change while the overview loaded", before == after)
        for state, count in after.items():
            check(f"overview shows {state} = {count} as status --json", shown.get(state) == count)
        check("overview shows the busy worker's job (live)",
              browser.eval("[...document.querySelectorAll('main table a')].some(a => a.textContent === 'live')"))

        # Live counts: another process enqueues; the open overview shows it without a reload.
        browser.eval("window.__sameDocument = true")
        scheduled = shown.get("scheduled", 0)
        cli("enqueue", json.dumps({"id": "later2", "command": "true", "delay": 3600}))
        check(f"overview's scheduled card goes {scheduled} -> {scheduled + 1} live (SSE, no reload)",
              browser.wait_for("window.__sameDocument === true && "
                               f"document.querySelector('[data-state=scheduled] b').textContent === '{scheduled + 1}'"))
        if shots:
            browser.screenshot("screenshots/web-overview.png")

        # Untrusted fields: a <script> in a command and its output is text and never runs;
        # the escape sequence in its output is shown as ␛, marked.
        browser.open(base + "/job?id=xss")
        command = browser.eval("document.querySelector('pre').textContent")
        check("a <script> in a command is shown as text", "<script>document.title=" in command and "</script>" in command)
        check("... and in the output",
              browser.eval("(document.getElementById('output') || {textContent: ''})"
                           ".textContent.includes('<script>document.title=\"pwned\"</script>')"))
        check("... and never runs (title unchanged, app.js the only script)",
              browser.eval("!document.title.includes('pwned') && document.scripts.length === 1"))
        for where, selector in [("command", "pre:not(#output)"), ("output", "#output")]:
            check(f"an escape sequence in the {where} is shown as ␛, marked",
                  browser.eval(f"[...document.querySelectorAll('{selector} .ctl')].some(s => s.textContent === '␛')"))
        if shots:
            browser.screenshot("screenshots/web-job.png")

        # Live output: the job page of a running job shows a line the job prints after
        # the page loaded, without a reload.
        browser.open(base + "/job?id=live")
        browser.eval("window.__sameDocument = true")
        first = browser.eval("(document.getElementById('output') || {textContent: ''}).textContent")
        check("the running job's page shows its output so far", "first-line" in first and "LIVE-MARK" not in first)
        printed = time.monotonic()
        open(os.path.join(scratch, "go"), "w").close()   # the job prints LIVE-MARK now
        seen = browser.wait_for("window.__sameDocument === true && "
                                "(document.getElementById('output') || {textContent: ''}).textContent.includes('LIVE-MARK')")
        check(f"a line it prints next appears in the open page (SSE, no reload; {time.monotonic() - printed:.1f} s)", seen)

        # A POST without the CSRF token is refused and changes nothing.
        try:
            urllib.request.urlopen(urllib.request.Request(base + "/dlq/retry", data=b"id=flaky"), timeout=5)
            status = 200
        except urllib.error.HTTPError as error:
            status = error.code
        check(f"a retry POST without the CSRF token is refused (got {status})",
              status == 403 and cli_json("show", "flaky")["state"] == "dead")

        # DLQ: click Retry on the dead job's row (a real form POST from the page), land
        # on its job page; the CLI then sees it leave the DLQ and complete.
        browser.open(base + "/dlq")
        check("the dead job flaky is in the DLQ with a Retry button",
              browser.eval("!!document.querySelector('form[action=\"/dlq/retry\"] input[name=id][value=flaky] ~ button')"))
        if shots:
            browser.screenshot("screenshots/web-dlq.png")
        browser.eval("document.querySelector('form[action=\"/dlq/retry\"] input[name=id][value=flaky] ~ button').click()")
        check("clicking Retry leads to the job's page",
              browser.wait_for(f"location.href === {json.dumps(base + '/job?id=flaky')} && document.readyState === 'complete'"))
        deadline = time.monotonic() + 10
        job = cli_json("show", "flaky")
        while job["state"] != "completed" and time.monotonic() < deadline:
            time.sleep(0.1)
            job = cli_json("show", "flaky")
        check(f"the CLI shows the retried job completed on its second run (state {job['state']}, "
              f"{len(job.get('history', []))} runs)", job["state"] == "completed" and len(job.get("history", [])) == 2)
        dead = [j["id"] for j in cli_json("dlq", "list")]
        check("and `dlq list` no longer holds it, but still the other dead job", "flaky" not in dead and "xss" in dead)
    except Exception as error:   # a broken page or browser is a failed check, not a traceback
        check(f"the browser session ran to the end ({type(error).__name__}: {error})", False)
    finally:
        browser.close()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
