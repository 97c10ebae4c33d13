#!/usr/bin/env python3
"""A local stand-in for the Vonage APIs the voice proxy calls, for running the stack by hand.

Unlike a spec mock, it behaves: Number Insight looks up the number it is given (with the
`phonenumbers` library), each SMS is printed so you can read what a participant would receive,
numbers can be searched for, bought (remembered as owned), linked (remembered as the
application their calls go to) and cancelled, and Voice applications created (with a real RSA
key pair), read, changed and deleted. Paths match production, so the base URLs are
  VONAGE_NUMBER_INSIGHT_URL=http://127.0.0.1:PORT/ni
  VONAGE_SMS_URL=http://127.0.0.1:PORT/sms
  VONAGE_NUMBERS_URL=http://127.0.0.1:PORT
  VONAGE_APPLICATIONS_URL=http://127.0.0.1:PORT/v2/applications
  VONAGE_IDENTITY_INSIGHTS_URL=http://127.0.0.1:PORT/identity-insights/v1
  VONAGE_MESSAGES_URL=http://127.0.0.1:PORT/v1
Identity Insights checks a number with `phonenumbers` too, and the Messages API prints each text
as the SMS API does; both take only a token signed with the private key of an application
created here.
GET /_sms lists the SMS sent so far, as JSON.

Usage: vonage_standin.py [PORT]   (default 4000, on 127.0.0.1)
"""
import base64
import json
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import phonenumbers

SENT = []
OWNED = {}  # msisdn -> the number as the Numbers API describes it
APPS = {}  # application id -> the application as the Application API shows it
LOCK = threading.Lock()


def offers(country, size, pattern=""):
    """Numbers for sale in `country` that start with `pattern`: Ofcom's drama range for GB,
    else variations on the country's example mobile number."""
    if country == "GB":
        base = "4477009002"
    else:
        example = phonenumbers.example_number_for_type(country, phonenumbers.PhoneNumberType.MOBILE)
        if example is None:
            return []
        base = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164).lstrip("+")[:-2]
    found = []
    for i in range(100):
        msisdn = "%s%02d" % (base, i)
        if msisdn not in OWNED and msisdn.startswith(pattern):
            found.append({"country": country, "msisdn": msisdn, "type": "mobile-lvn",
                          "cost": "1.25", "features": ["VOICE", "SMS"]})
        if len(found) == size:
            break
    return found


def key_pair():
    """A new RSA key pair in PEM, as the Application API gives one to a new application."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return public, private


def b64url(part):
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def application_of(header):
    """The application whose private key signed the bearer token in `header` (RS256), or None."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding
    if not header.startswith("Bearer "):
        return None
    try:
        head, claims, signature = header[7:].split(".")
        if json.loads(b64url(head)).get("alg") != "RS256":
            return None
        app = APPS.get(json.loads(b64url(claims)).get("application_id"))
        if app is None:
            return None
        key = serialization.load_pem_public_key(app["keys"]["public_key"].encode())
        key.verify(b64url(signature), ("%s.%s" % (head, claims)).encode(), padding.PKCS1v15(),
                   hashes.SHA256())
        return app
    except (ValueError, KeyError, InvalidSignature):
        return None


def insights(number):
    """Identity Insights' format and original_carrier insights for `number`."""
    ok = {"code": "OK", "message": "Success"}
    try:
        parsed = phonenumbers.parse("+" + number.lstrip("+"))
    except phonenumbers.NumberParseException:
        return {"format": {"is_format_valid": False, "status": ok}}
    from phonenumbers import geocoder, timezone
    kind = phonenumbers.number_type(parsed)
    network = {phonenumbers.PhoneNumberType.FIXED_LINE: "LANDLINE",
               phonenumbers.PhoneNumberType.TOLL_FREE: "TOLLFREE",
               phonenumbers.PhoneNumberType.PREMIUM_RATE: "PREMIUM",
               phonenumbers.PhoneNumberType.VOIP: "VIRTUAL"}.get(kind, "MOBILE")  # or unplaced
    region = phonenumbers.region_code_for_number(parsed) or \
        phonenumbers.region_code_for_country_code(parsed.country_code)
    return {
        "format": {
            "country_code": region,
            "country_prefix": str(parsed.country_code),
            "offline_location": geocoder.description_for_number(parsed, "en"),
            "time_zones": [z for z in timezone.time_zones_for_number(parsed)
                           if z != "Etc/Unknown"] or ["unknown"],
            "number_international": phonenumbers.format_number(
                parsed, phonenumbers.PhoneNumberFormat.E164),
            "number_national": phonenumbers.format_number(
                parsed, phonenumbers.PhoneNumberFormat.NATIONAL),
            # As the Number Insight stand-in does: numbers of a possible length are valid, so
            # the 07700 900xxx numbers kept for drama work here.
            "is_format_valid": phonenumbers.is_possible_number(parsed),
            "status": ok,
        },
        "original_carrier": {"network_type": network, "country_code": region, "status": ok},
    }


def first(params, name):
    values = params.get(name) or [""]
    return values[0]


class Handler(BaseHTTPRequestHandler):
    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt, *args):  # one line per request, on stderr
        sys.stderr.write("vonage-standin: %s\n" % (fmt % args))

    def authorised(self, params):
        return bool(first(params, "api_key")) and bool(first(params, "api_secret"))

    def basic_authorised(self):
        header = self.headers.get("Authorization") or ""
        if not header.startswith("Basic "):
            return False
        key, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        return bool(key) and bool(secret)

    def applications(self, verb):
        """The Application API: POST /v2/applications, and GET, PUT, DELETE /v2/applications/ID."""
        if not self.basic_authorised():
            return self.reply(401, {"type": "https://developer.nexmo.com/api-errors#unauthorized",
                                    "title": "Invalid credentials supplied"})
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        app_id = urlparse(self.path).path[len("/v2/applications"):].strip("/")
        with LOCK:
            if verb == "POST" and not app_id:
                public, private = key_pair()
                app = {"id": str(uuid.uuid4()), "name": body.get("name", ""),
                       "capabilities": body.get("capabilities", {}), "keys": {"public_key": public}}
                APPS[app["id"]] = app
                print("Applications: created %s" % app["id"], flush=True)
                return self.reply(201, dict(app, keys={"public_key": public, "private_key": private}))
            if app_id not in APPS:
                return self.reply(404, {"type": "https://developer.nexmo.com/api-errors#not-found",
                                        "title": "Not Found"})
            if verb == "GET":
                return self.reply(200, APPS[app_id])
            if verb == "PUT":
                APPS[app_id].update(name=body.get("name", APPS[app_id]["name"]),
                                    capabilities=body.get("capabilities", {}))
                print("Applications: updated %s" % app_id, flush=True)
                return self.reply(200, APPS[app_id])
            del APPS[app_id]
            print("Applications: deleted %s" % app_id, flush=True)
            self.send_response(204)
            self.end_headers()

    def do_PUT(self):
        return self.applications("PUT")

    def do_DELETE(self):
        return self.applications("DELETE")

    def do_GET(self):
        url = urlparse(self.path)
        query = parse_qs(url.query)
        if url.path.startswith("/v2/applications"):
            return self.applications("GET")
        if url.path == "/_sms":
            with LOCK:
                return self.reply(200, SENT)
        if url.path == "/ni/basic/json":
            if not self.authorised(query):
                return self.reply(401, {"status": 4, "status_message": "Invalid credentials"})
            number = first(query, "number")
            try:
                parsed = phonenumbers.parse("+" + number.lstrip("+"))
                ok = phonenumbers.is_possible_number(parsed)
            except phonenumbers.NumberParseException:
                ok = False
            if not ok:
                return self.reply(200, {"status": 3, "status_message": "Invalid request",
                                        "request_id": str(uuid.uuid4())})
            region = phonenumbers.region_code_for_number(parsed) or \
                phonenumbers.region_code_for_country_code(parsed.country_code)
            return self.reply(200, {
                "status": 0,
                "status_message": "Success",
                "request_id": str(uuid.uuid4()),
                "international_format_number": phonenumbers.format_number(
                    parsed, phonenumbers.PhoneNumberFormat.E164).lstrip("+"),
                "national_format_number": phonenumbers.format_number(
                    parsed, phonenumbers.PhoneNumberFormat.NATIONAL),
                "country_code": region,
                "country_prefix": str(parsed.country_code),
            })
        if url.path in ("/number/search", "/account/numbers"):
            if not self.authorised(query):
                return self.reply(401, {"error-code": "401", "error-code-label": "authentication failed"})
            size = min(int(first(query, "size") or 10), 100)
            with LOCK:
                if url.path == "/number/search":
                    numbers = offers(first(query, "country"), size, first(query, "pattern"))
                else:
                    pattern = first(query, "pattern")
                    numbers = [n for m, n in OWNED.items() if m.startswith(pattern)][:size]
            return self.reply(200, {"count": len(numbers), "numbers": numbers})
        return self.reply(404, {"error": "no such path in the stand-in"})

    def do_POST(self):
        url = urlparse(self.path)
        query = parse_qs(url.query)
        if url.path.startswith("/v2/applications"):
            return self.applications("POST")
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if url.path == "/identity-insights/v1/requests":
            with LOCK:
                app = application_of(self.headers.get("Authorization") or "")
            if app is None:
                return self.reply(401, {"title": "Unauthorized", "detail": "Invalid token"})
            number = json.loads(raw or b"{}").get("phone_number") or ""
            return self.reply(200, {"request_id": str(uuid.uuid4()), "insights": insights(number)})
        if url.path == "/v1/calls":
            # Click-to-call: the call is "started" and nothing rings; its events are the
            # tester's to post (scripts/sign-webhook), with the event URL it names.
            with LOCK:
                app = application_of(self.headers.get("Authorization") or "")
            if app is None:
                return self.reply(401, {"title": "Unauthorized", "detail": "Invalid token"})
            body = json.loads(raw or b"{}")
            print("Voice: call started, event URL %s" % (body.get("event_url") or [""])[0], flush=True)
            return self.reply(201, {"uuid": str(uuid.uuid4()), "status": "started",
                                    "direction": "outbound", "conversation_uuid": "CON-" + str(uuid.uuid4())})
        if url.path == "/v1/messages":
            with LOCK:
                app = application_of(self.headers.get("Authorization") or "")
            if app is None:
                return self.reply(401, {"type": "https://developer.vonage.com/api-errors/#unathorized",
                                        "title": "You did not provide correct credentials.",
                                        "instance": str(uuid.uuid4())})
            body = json.loads(raw or b"{}")
            if body.get("channel") != "sms" or body.get("message_type") != "text":
                return self.reply(422, {"type": "https://developer.vonage.com/api-errors/messages#1150",
                                        "title": "Invalid params", "detail": "only SMS text here",
                                        "instance": str(uuid.uuid4())})
            message = {"from": body.get("from", ""), "to": body.get("to", ""),
                       "text": body.get("text", ""), "message-id": str(uuid.uuid4())}
            with LOCK:
                SENT.append(message)
            print("Message from +%s to +%s: %s" % (message["from"], message["to"], message["text"]),
                  flush=True)
            return self.reply(202, {"message_uuid": message["message-id"]})
        form = parse_qs(raw.decode())
        if url.path == "/sms/json":
            if not self.authorised(form):
                return self.reply(200, {"message-count": "1", "messages": [
                    {"status": "2", "error-text": "Missing api_key or api_secret"}]})
            message = {"from": first(form, "from"), "to": first(form, "to"),
                       "text": first(form, "text"), "message-id": uuid.uuid4().hex[:16].upper()}
            with LOCK:
                SENT.append(message)
            print("SMS from +%s to +%s: %s" % (message["from"], message["to"], message["text"]),
                  flush=True)
            return self.reply(200, {"message-count": "1", "messages": [
                {"to": message["to"], "message-id": message["message-id"], "status": "0"}]})
        if url.path in ("/number/update", "/number/buy", "/number/cancel"):
            if not self.authorised(query):
                return self.reply(401, {"error-code": "401", "error-code-label": "authentication failed"})
            msisdn, country = first(form, "msisdn"), first(form, "country")
            with LOCK:
                if url.path == "/number/buy":
                    if msisdn in OWNED:
                        return self.reply(420, {"error-code": "420",
                                                "error-code-label": "method failed: you already own it"})
                    OWNED[msisdn] = {"country": country, "msisdn": msisdn, "type": "mobile-lvn",
                                     "features": ["VOICE", "SMS"]}
                    print("Numbers: bought +%s" % msisdn, flush=True)
                elif url.path == "/number/cancel":
                    OWNED.pop(msisdn, None)
                    print("Numbers: cancelled +%s" % msisdn, flush=True)
                else:
                    # Linked: the account is taken to own a number it links.
                    number = OWNED.setdefault(msisdn, {"country": country, "msisdn": msisdn,
                                                       "type": "mobile-lvn",
                                                       "features": ["VOICE", "SMS"]})
                    number.update(voiceCallbackType="app", voiceCallbackValue=first(form, "app_id"))
            return self.reply(200, {"error-code": "200", "error-code-label": "success"})
        return self.reply(404, {"error": "no such path in the stand-in"})


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 4000
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    main()
