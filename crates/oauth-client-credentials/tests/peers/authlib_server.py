"""A client-credentials token endpoint built on authlib, the OAuth server library, as a peer
for the oauth-client-credentials tests.

Usage: python3 authlib_server.py CLIENTS_JSON
CLIENTS_JSON is a list of {"id", "secret", "method", "public_key_pem"?, "scope"?}, where
"method" is one of client_secret_basic, client_secret_post, client_secret_jwt, private_key_jwt
and "scope" is the scope the client may be granted (default: whatever it asks for).

Listens on 127.0.0.1 on a free port, prints the port on the first line of stdout, and serves
POST /token until stdin closes or the process is killed. Everything that decides whether a
request is accepted (Basic decoding with `unquote`, the RFC 7523 assertion checks, the error
bodies) is authlib's own code; this file only wires it to a socket.
"""

import json
import os
import secrets
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

# Plain HTTP on loopback only: authlib refuses http:// URIs without this.
os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"

from authlib.oauth2 import AuthorizationServer  # noqa: E402
from authlib.oauth2.rfc6749 import ClientMixin, grants  # noqa: E402
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload, OAuth2Request  # noqa: E402
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion  # noqa: E402
from joserfc.jwk import OctKey, RSAKey  # noqa: E402
from joserfc.jws import extract_compact  # noqa: E402


class Client(ClientMixin):
    def __init__(self, spec):
        self.spec = spec

    def get_client_id(self):
        return self.spec["id"]

    def get_default_redirect_uri(self):
        return None

    def get_allowed_scope(self, scope):
        allowed = self.spec.get("scope")
        if allowed is None or not scope:
            return scope
        return " ".join(s for s in scope.split() if s in allowed.split())

    def check_redirect_uri(self, redirect_uri):
        return False

    def check_client_secret(self, client_secret):
        return secrets.compare_digest(client_secret, self.spec["secret"])

    def check_endpoint_auth_method(self, method, endpoint):
        return method == self.spec["method"]

    def check_response_type(self, response_type):
        return False

    def check_grant_type(self, grant_type):
        return grant_type == "client_credentials"


class ClientCredentials(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = [
        "client_secret_basic",
        "client_secret_post",
        "client_secret_jwt",
        "private_key_jwt",
    ]


class Assertion(JWTBearerClientAssertion):
    """RFC 7523 client authentication; one instance per algorithm family."""

    def __init__(self, method, alg, audience):
        super().__init__(validate_jti=True)
        self.CLIENT_AUTH_METHOD = method
        self.alg = alg
        self.audience = audience
        self.seen = set()
        self.lock = threading.Lock()

    def __call__(self, query_client, request):
        assertion = request.form.get("client_assertion")
        if not assertion:
            return None
        try:
            alg = extract_compact(assertion.encode()).headers().get("alg")
        except Exception:
            return None
        if alg != self.alg:
            return None
        return super().__call__(query_client, request)

    def get_audiences(self):
        return [self.audience]

    def validate_jti(self, claims, jti):
        with self.lock:
            if jti in self.seen:
                return False
            self.seen.add(jti)
            return True

    def resolve_client_public_key(self, client):
        if self.alg == "HS256":
            return OctKey.import_key(client.spec["secret"].encode())
        return RSAKey.import_key(client.spec["public_key_pem"])


class Request(OAuth2Request):
    def __init__(self, uri, form, headers):
        super().__init__("POST", uri, headers=headers)
        self._form = form
        self.payload = BasicOAuth2Payload(form)

    @property
    def args(self):
        return {}

    @property
    def form(self):
        return self._form


class Server(AuthorizationServer):
    def __init__(self, clients):
        super().__init__()
        self.clients = clients

    def query_client(self, client_id):
        return self.clients.get(client_id)

    def save_token(self, token, request):
        pass

    def create_oauth2_request(self, request):
        return request

    def handle_response(self, status, body, headers):
        return status, body, headers

    def send_signal(self, name, *args, **kwargs):
        pass


def token(grant_type, client, user=None, scope=None, expires_in=None, include_refresh_token=True):
    # authlib's client-credentials grant grants the requested scope; a server's policy may
    # grant less, which RFC 6749 §5.1 says it must then report.
    scope = client.get_allowed_scope(scope)
    body = {"access_token": secrets.token_urlsafe(24), "token_type": "Bearer", "expires_in": 3600}
    if scope:
        body["scope"] = scope
    return body


def main():
    specs = json.loads(sys.argv[1])
    clients = {spec["id"]: Client(spec) for spec in specs}
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), None)
    port = httpd.server_address[1]
    token_url = f"http://127.0.0.1:{port}/token"
    server = Server(clients)
    server.register_token_generator("default", token)
    server.register_grant(ClientCredentials)
    server.register_client_auth_method("client_secret_jwt", Assertion("client_secret_jwt", "HS256", token_url))
    server.register_client_auth_method("private_key_jwt", Assertion("private_key_jwt", "RS256", token_url))

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("utf-8", "replace")
            if self.path != "/token":
                self.send_error(404)
                return
            form = dict(parse_qsl(body, keep_blank_values=True))
            # The message object: header names are case-insensitive, as in HTTP.
            status, payload, extra = server.create_token_response(Request(token_url, form, self.headers))
            data = json.dumps(payload).encode()
            self.send_response(status)
            for name, value in extra:
                if name.lower() != "content-type":
                    self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    httpd.RequestHandlerClass = Handler
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    print(port, flush=True)
    # Until the test closes stdin (or the process is killed).
    sys.stdin.read()
    httpd.shutdown()


if __name__ == "__main__":
    main()
