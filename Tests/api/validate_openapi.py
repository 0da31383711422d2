#!/usr/bin/env python3
"""Checks that GET /api/openapi.json is a valid OpenAPI 3.1 document that includes custom objects.

What it tests, against the real server:
  * a tenant administrator can create a custom object `x_project` whose fields cover the field
    types (text, number, money, picklist, multi_picklist, date, datetime, boolean, email, url, a
    lookup to the object itself and an auto-number "P-{seq:3}");
  * GET /api/openapi.json (bearer token) answers 200 with an OpenAPI 3.1 document that
    openapi-spec-validator accepts;
  * the document has the path /api/v1/x_project, and the object's record schema and input schema
    list every custom field key in their properties.

How it is run: `make test` runs it from the repository root, after the Swift and browser tests, as

    python3 Tests/api/validate_openapi.py

with DATABASE_URL (application role) and DATABASE_OWNER_URL (schema owner) exported for a
throwaway PostgreSQL. It migrates that database, creates a tenant `api-<8 hex>` with
.build/debug/atrium-admin, starts .build/debug/atrium on a free port, signs in, creates an API
token and uses it for everything else. It prints one "ok - …" line per passed check and exits
non-zero with a message and the server log's tail on the first failure. The server is always
stopped.
"""

import html.parser
import http.client
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections import deque

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SERVER_BINARY = os.path.join(REPO_ROOT, ".build", "debug", "atrium")
ADMIN_BINARY = os.path.join(REPO_ROOT, ".build", "debug", "atrium-admin")
ADMIN_PASSWORD = "Correct-horse-9"
SERVER_START_SECONDS = 30
OBJECT_KEY = "x_project"

PROJECT_FIELDS = [
    {"key": "x_name", "labels": {"en": "Name", "zh-CN": "名称"}, "type": "text", "required": True, "searchable": True},
    {"key": "x_budget", "labels": {"en": "Budget"}, "type": "number", "filterable": True},
    {"key": "x_cost", "labels": {"en": "Cost"}, "type": "money", "currency": "CNY", "filterable": True},
    {"key": "x_stage", "labels": {"en": "Stage"}, "type": "picklist", "filterable": True,
     "options": [{"value": "plan", "labels": {"en": "Plan"}}, {"value": "build", "labels": {"en": "Build"}},
                 {"value": "done", "labels": {"en": "Done"}}]},
    {"key": "x_tags", "labels": {"en": "Tags"}, "type": "multi_picklist",
     "options": [{"value": "internal", "labels": {"en": "Internal"}}, {"value": "client", "labels": {"en": "Client"}}]},
    {"key": "x_start", "labels": {"en": "Start"}, "type": "date"},
    {"key": "x_deadline", "labels": {"en": "Deadline"}, "type": "datetime"},
    {"key": "x_active", "labels": {"en": "Active"}, "type": "boolean"},
    {"key": "x_contact", "labels": {"en": "Contact"}, "type": "email"},
    {"key": "x_site", "labels": {"en": "Site"}, "type": "url"},
    {"key": "x_parent", "labels": {"en": "Parent project"}, "type": "lookup", "target": OBJECT_KEY},
    {"key": "x_code", "labels": {"en": "Code"}, "type": "auto_number", "format": "P-{seq:3}"},
]


class CheckFailed(Exception):
    """A check's expectation did not hold; the message says what was expected and seen."""


def expect(condition, message):
    if not condition:
        raise CheckFailed(message)


def ok(message):
    print(f"ok - {message}", flush=True)


def load_validator():
    """openapi-spec-validator's `validate` (0.7+); installs the package with pip when missing."""
    try:
        from openapi_spec_validator import validate
        return validate
    except ImportError:
        pass
    print("# openapi-spec-validator is missing; running `pip install openapi-spec-validator`", flush=True)
    install = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "openapi-spec-validator"],
                             capture_output=True, text=True)
    if install.returncode != 0:  # Debian's python marks itself externally managed
        install = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--break-system-packages",
                                  "openapi-spec-validator"], capture_output=True, text=True)
    if install.returncode != 0:
        sys.exit("validate_openapi: could not install openapi-spec-validator:\n" + install.stdout + install.stderr)
    try:
        from openapi_spec_validator import validate
    except ImportError as error:
        sys.exit(f"validate_openapi: openapi-spec-validator 0.7 or later is needed ({error})")
    return validate


# --- a small HTTP client: one keep-alive connection, cookies, the tenant header ----------------

class HiddenInputs(html.parser.HTMLParser):
    """Collects <input type=hidden name=… value=…> of a page."""

    def __init__(self):
        super().__init__()
        self.values = {}

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "input" and attributes.get("type") == "hidden" and attributes.get("name"):
            self.values.setdefault(attributes["name"], attributes.get("value") or "")


def hidden_input(page, name):
    parser = HiddenInputs()
    parser.feed(page)
    return parser.values.get(name)


class Client:
    def __init__(self, port, tenant):
        self.port = port
        self.tenant = tenant
        self.cookies = {}
        self.token = None
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def request(self, method, path, body=None, headers=None, form=False):
        all_headers = {"X-Tenant": self.tenant, "Accept": "application/json"}
        if self.token:
            all_headers["Authorization"] = f"Bearer {self.token}"
        elif self.cookies:
            all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        data = None
        if body is not None:
            if form:
                data = urllib.parse.urlencode(body).encode()
                all_headers["Content-Type"] = "application/x-www-form-urlencoded"
            else:
                data = json.dumps(body).encode()
                all_headers["Content-Type"] = "application/json"
        all_headers.update(headers or {})
        try:
            self.connection.request(method, path, body=data, headers=all_headers)
            response = self.connection.getresponse()
        except (http.client.HTTPException, OSError):  # the server closed a kept-alive connection
            self.connection.close()
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            self.connection.request(method, path, body=data, headers=all_headers)
            response = self.connection.getresponse()
        text = response.read().decode("utf-8", errors="replace")
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, text

    def json(self, method, path, body=None, expected=200):
        status, text = self.request(method, path, body)
        expect(status == expected, f"{method} {path} should answer {expected}; got {status}: {text[:500]}")
        try:
            return json.loads(text)
        except ValueError:
            raise CheckFailed(f"{method} {path} did not answer JSON: {text[:300]}")

    def sign_in_and_create_token(self, email, password):
        status, page = self.request("GET", "/login", headers={"Accept": "text/html"})
        expect(status == 200, f"GET /login should answer 200; got {status}: {page[:300]}")
        csrf = hidden_input(page, "_csrf")
        expect(csrf and "atrium_csrf" in self.cookies, "the login page has no _csrf field or atrium_csrf cookie")
        status, text = self.request("POST", "/login", {"email": email, "password": password, "_csrf": csrf},
                                    headers={"Accept": "text/html"}, form=True)
        expect(status == 303 and "atrium_session" in self.cookies,
               f"POST /login should redirect with a session cookie; got {status}: {text[:300]}")
        status, page = self.request("GET", "/", headers={"Accept": "text/html"})
        session_csrf = hidden_input(page, "_csrf")
        expect(status == 200 and session_csrf, f"GET / after sign-in should show the home page; got {status}")
        status, text = self.request("POST", "/api/v1/tokens", {"name": "openapi-check"},
                                    headers={"X-CSRF-Token": session_csrf})
        expect(status == 201, f"POST /api/v1/tokens should answer 201; got {status}: {text[:300]}")
        token = json.loads(text).get("token", "")
        expect(token.startswith("atr_"), f"the new token should start with atr_; got {token!r}")
        self.token = token
        self.cookies.clear()

    def close(self):
        self.connection.close()


# --- setup: environment, tenant, server ------------------------------------------------------

def test_environment():
    missing = [name for name in ("DATABASE_URL", "DATABASE_OWNER_URL") if not os.environ.get(name)]
    if missing:
        sys.exit(f"validate_openapi: {' and '.join(missing)} must be set (run it through `make test`).")
    for binary in (SERVER_BINARY, ADMIN_BINARY):
        if not os.access(binary, os.X_OK):
            sys.exit(f"validate_openapi: {binary} is missing; run `swift build` first.")
    return dict(os.environ, ATRIUM_ARGON2_MEMORY_KIB="1024", ATRIUM_ARGON2_ITERATIONS="1",
                ATRIUM_API_RATE_LIMITS="off")


def run_admin(env, *args):
    result = subprocess.run([ADMIN_BINARY, *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise CheckFailed(f"atrium-admin {' '.join(args[:2])} exited {result.returncode}:\n{result.stdout}{result.stderr}")
    return result.stdout


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(env, port, log_path):
    server_env = dict(env, ATRIUM_PORT=str(port), ATRIUM_HOST="127.0.0.1", ATRIUM_BASE_DOMAIN="localhost")
    with open(log_path, "wb") as log:
        server = subprocess.Popen([SERVER_BINARY], cwd=REPO_ROOT, env=server_env,
                                  stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise CheckFailed(f"the server exited with code {server.returncode} before answering /healthz")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                connection.close()
                return server
            connection.close()
        except OSError:
            pass
        time.sleep(0.1)
    raise CheckFailed(f"the server did not answer /healthz within {SERVER_START_SECONDS} s")


def stop_server(server):
    if server is None or server.poll() is not None:
        return
    server.terminate()
    try:
        server.wait(timeout=5)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def log_tail(path, lines=40):
    try:
        with open(path, encoding="utf-8", errors="replace") as log:
            return "".join(deque(log, maxlen=lines))
    except OSError as error:
        return f"(no server log: {error})"


# --- the checks ------------------------------------------------------------------------------

def resolve(document, node):
    """Follows a local "$ref" (#/components/…) to the object it names."""
    seen = 0
    while isinstance(node, dict) and "$ref" in node:
        reference = node["$ref"]
        expect(reference.startswith("#/"), f"unexpected non-local $ref {reference!r}")
        node = document
        for part in reference[2:].split("/"):
            expect(isinstance(node, dict) and part in node, f"$ref {reference!r} points nowhere")
            node = node[part]
        seen += 1
        expect(seen < 20, "a $ref loop in the document")
    return node


def check_document(document, validate):
    version = str(document.get("openapi", ""))
    expect(version.startswith("3.1"), f"the document should declare OpenAPI 3.1.x; declares {version!r}")
    try:
        validate(document)
    except Exception as error:  # openapi-spec-validator raises its own OpenAPIValidationError
        path = "/".join(str(part) for part in getattr(error, "path", []) or [])
        raise CheckFailed(f"openapi-spec-validator rejects the document{f' at {path}' if path else ''}: "
                          f"{type(error).__name__}: {str(error)[:1500]}")
    ok(f"openapi-spec-validator accepts the document (OpenAPI {version}, "
       f"{len(document.get('paths', {}))} paths, {len(document.get('components', {}).get('schemas', {}))} schemas)")

    paths = document.get("paths", {})
    path = f"/api/v1/{OBJECT_KEY}"
    expect(path in paths, f"the document has no path {path}; it has {sorted(paths)[:40]}")
    expect({"get", "post"} <= set(paths[path]), f"{path} should have get and post; has {sorted(paths[path])}")
    for suffix in ("/{id}", "/query"):
        expect(path + suffix in paths, f"the document has no path {path + suffix}")
    ok(f"the document has the paths {path}, {path}/{{id}} and {path}/query")

    field_keys = [field["key"] for field in PROJECT_FIELDS]
    page = resolve(document, paths[path]["get"]["responses"]["200"]["content"]["application/json"]["schema"])
    record = resolve(document, page.get("properties", {}).get("records", {}).get("items", {}))
    record_properties = record.get("properties", {})
    missing = [key for key in field_keys if key not in record_properties]
    expect(not missing, f"the {OBJECT_KEY} record schema lacks the fields {missing}; has {sorted(record_properties)}")
    ok(f"the {OBJECT_KEY} record schema lists all {len(field_keys)} custom fields")

    input_schema = resolve(document, paths[path]["post"]["requestBody"]["content"]["application/json"]["schema"])
    input_properties = input_schema.get("properties", {})
    missing = [key for key in field_keys if key not in input_properties]
    expect(not missing, f"the {OBJECT_KEY} input schema lacks the fields {missing}; has {sorted(input_properties)}")
    expect("x_name" in input_schema.get("required", []),
           f"x_name is required, so the input schema should require it; requires {input_schema.get('required')}")
    ok(f"the {OBJECT_KEY} input schema lists all custom fields and requires x_name")

    def variant(key):  # the non-null branch of the field's anyOf
        schema = record_properties[key]
        options = [item for item in schema.get("anyOf", [schema]) if item.get("type") != "null"]
        return options[0] if options else {}
    stage = variant("x_stage")
    expect(stage.get("enum") == ["plan", "build", "done"], f"x_stage should enumerate its options; is {stage}")
    expect(variant("x_tags").get("type") == "array", f"x_tags (multi_picklist) should be an array; is {variant('x_tags')}")
    expect(variant("x_parent").get("format") == "uuid", f"x_parent (lookup) should be a uuid; is {variant('x_parent')}")
    expect(variant("x_cost").get("type") == "object", f"x_cost (money) should be an object; is {variant('x_cost')}")
    ok("picklist options, multi-picklist, lookup and money fields have the expected schemas")


def main():
    started = time.monotonic()
    env = test_environment()
    validate = load_validator()
    work_dir = tempfile.mkdtemp(prefix="atrium-openapi-")
    log_path = os.path.join(work_dir, "server.log")
    server = client = None
    step = "setup"
    try:
        step = "create the tenant"
        slug = f"api-{secrets.token_hex(4)}"
        run_admin(env, "migrate")
        run_admin(env, "tenant", "create", "--slug", slug, "--name", f"OpenAPI {slug}",
                  "--admin-email", f"admin@{slug}.test", "--admin-password", ADMIN_PASSWORD,
                  "--locale", "en", "--plan", "trial")
        ok(f"atrium-admin migrate and tenant create --slug {slug}")

        step = "start the server"
        port = free_port()
        server = start_server(env, port, log_path)
        ok(f"server answers /healthz on port {port}")

        step = "sign in and create an API token"
        client = Client(port, slug)
        client.sign_in_and_create_token(f"admin@{slug}.test", ADMIN_PASSWORD)
        ok("signed in and created an API token")

        step = "create the custom object"
        created = client.json("POST", "/api/v1/admin/objects",
                              {"key": OBJECT_KEY, "labels": {"en": "Project", "zh-CN": "项目"}, "fields": PROJECT_FIELDS},
                              expected=201)
        expect(created.get("key") == OBJECT_KEY, f"POST /api/v1/admin/objects answered {str(created)[:300]}")
        ok(f"created custom object {OBJECT_KEY} with {len(PROJECT_FIELDS)} fields of "
           f"{len({field['type'] for field in PROJECT_FIELDS})} types")

        step = "fetch /api/openapi.json"
        document = client.json("GET", "/api/openapi.json")
        ok("GET /api/openapi.json with the bearer token answers 200 with JSON")

        step = "validate the document"
        check_document(document, validate)
    except CheckFailed as error:
        print(f"FAIL - {step}: {error}", file=sys.stderr)
        print(f"--- server log (last lines of {log_path}) ---", file=sys.stderr)
        print(log_tail(log_path), file=sys.stderr)
        return 1
    except Exception as error:
        print(f"FAIL - {step}: {type(error).__name__}: {error}", file=sys.stderr)
        print(f"--- server log (last lines of {log_path}) ---", file=sys.stderr)
        print(log_tail(log_path), file=sys.stderr)
        return 1
    finally:
        if client is not None:
            client.close()
        stop_server(server)
    shutil.rmtree(work_dir, ignore_errors=True)  # keep the server log only when something failed
    print(f"the OpenAPI document is valid ({time.monotonic() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
