#!/usr/bin/env python3
"""Writes the webhook-signature test vectors in shared/tests/vectors/, made without this
project's own signer, for shared/tests/signature_vectors.rs.

- webhook_jwt.json: Voice and Messages signed webhooks (`Authorization: Bearer <JWT>`, HS256
  with the signature secret, `payload_hash` = hex SHA-256 of the raw body). Tokens are encoded
  by PyJWT, checked with the Vonage SDK's own `vonage_jwt.verify_signature`, plus one token
  that Vonage publishes in that SDK's tests.
- sms_sig.json: the SMS API's `sig` parameter for md5hash and HMAC md5, sha1, sha256, sha512.
  Signatures come from the Vonage Python SDK's helpers: `vonage_http_client.Auth.sign_params`
  (the 4.x SDK, HMAC only: it cannot do md5hash) and `vonage.Client.signature` (3.18.0, the
  last SDK with md5hash). Every one is also recomputed with hashlib/hmac from Vonage's
  documented algorithm, and the published vectors from Vonage's Ruby and Python SDK tests are
  re-checked with the installed SDK, so the script stops if any of them disagree.

The JSON files are the vectors and are checked in; run this only to regenerate them. The
output is deterministic (fixed times, ids and secrets), so a second run changes nothing:

    python3 -m venv .tools/vectors-venv
    .tools/vectors-venv/bin/pip install -r scripts/signature_vectors.requirements.txt
    .tools/vectors-venv/bin/python scripts/signature_vectors.py          # writes
    .tools/vectors-venv/bin/python scripts/signature_vectors.py --check  # compares only
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import sys
import warnings
from importlib.metadata import version
from pathlib import Path

import jwt  # PyJWT
from vonage_http_client.auth import Auth
from vonage_jwt import verify_signature

warnings.filterwarnings("ignore", category=DeprecationWarning)
# Short keys are the point of some vectors (Vonage's own "asdf"); HS512 is a refused case.
warnings.filterwarnings("ignore", message="The HMAC key is")
# The 3.x client falls back to these when an argument is None; md5hash *is* None.
for name in ("VONAGE_SIGNATURE_SECRET", "VONAGE_SIGNATURE_METHOD"):
    os.environ.pop(name, None)
import vonage  # noqa: E402  (3.x, after the environment is cleared)

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "shared" / "tests" / "vectors"

TOOLS = {
    name: version(name)
    for name in ("PyJWT", "vonage-jwt", "vonage-http-client", "vonage")
}

RUBY_SDK = (
    "Vonage/vonage-ruby-sdk test/vonage/signature_test.rb "
    "(commit 88cba895358238eadc337f6bbfdfcc79836ae2b0)"
)
PY_SDK4 = (
    "Vonage/vonage-python-sdk http_client/tests/test_auth.py "
    "(commit b308cb1e94192b7ae5f5f7256d0ff1dfdd028020)"
)
PY_SDK4_JWT = (
    "Vonage/vonage-python-sdk jwt/tests/test_verify_jwt.py "
    "(commit b308cb1e94192b7ae5f5f7256d0ff1dfdd028020)"
)
PY_SDK3 = (
    "Vonage/vonage-python-sdk tests/test_signature.py, SDK 3.x "
    "(commit b5432e4cf5d5dc2ff59fa745ebd9425fe3874c9d)"
)

# ---------------------------------------------------------------------------------------------
# Signed webhooks (JWT)
# ---------------------------------------------------------------------------------------------

SECRET = "Wd9pQ2rX7vLk4sT8yZ3nB6mC1hF5jG0a"
OTHER_SECRET = "another-signature-secret-32chars"
API_KEY = "abcd1234"
APPLICATION_ID = "aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab"
MAX_AGE = 300
IAT = 1773480413  # 2026-03-14T09:26:53Z

VOICE_EVENT = (
    '{"from":"447700900001","to":"447700900101","uuid":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",'
    '"conversation_uuid":"CON-bbbbbbbb-cccc-4ddd-8eee-ffffffffffff","status":"answered",'
    '"direction":"inbound","timestamp":"2026-03-14T09:26:53.120Z"}'
)
VOICE_ANSWER = (
    '{"from":"447700900001","to":"447700900101","uuid":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",'
    '"conversation_uuid":"CON-bbbbbbbb-cccc-4ddd-8eee-ffffffffffff",'
    '"region_url":"https://api-eu-3.vonage.com"}'
)
# Non-ASCII text and `&`/`=` in the body: the hash is over the raw UTF-8 bytes.
MESSAGES_INBOUND = (
    '{"channel":"sms","message_uuid":"cccccccc-dddd-4eee-8fff-000000000001",'
    '"to":"447700900101","from":"447700900001","timestamp":"2026-03-14T09:26:53Z",'
    '"text":"Café ☕ at 5? a=b&c=d","sms":{"num_messages":"1"},"message_type":"text"}'
)


def payload_hash(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def claims(
    body: str | None,
    iat: int = IAT,
    jti: str = "0",
    api_key: str = API_KEY,
    application_id: str = APPLICATION_ID,
) -> dict:
    """The claims Vonage signs, in Vonage's order; no `payload_hash` when `body` is None."""
    c = {
        "iat": iat,
        "jti": f"11111111-2222-4333-8444-{int(jti):012d}",
        "iss": "Vonage",
    }
    if body is not None:
        c["payload_hash"] = payload_hash(body)
    c["api_key"] = api_key
    c["application_id"] = application_id
    return c


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def sdk_verdict(token: str, secret: str) -> tuple[str, str | None]:
    """What the Vonage SDK's `verify_signature` says: it checks the HS256 signature only."""
    try:
        return ("valid" if verify_signature(token, secret) else "invalid"), None
    except Exception as err:  # VonageVerifyJwtError: not an HS256 token at all
        return "error", type(err).__name__ + ": " + str(err)


def unverified_claims(token: str) -> dict:
    segment = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def jwt_vector(
    name, description, *, token, body, secret, iat, now, expected, source,
    application_id=APPLICATION_ID,
) -> dict:
    verdict, error = sdk_verdict(token, secret)
    v = {
        "name": name,
        "description": description,
        "secret": secret,
        "api_key": API_KEY,
        "application_id": application_id,
        "token": token,
        "body": body,
        "has_payload_hash": "payload_hash" in unverified_claims(token),
        "iat": iat,
        "now": now,
        "expected": expected,
        "sdk_verify_signature": verdict,
    }
    if error:
        v["sdk_error"] = error
    v["source"] = source
    return v


def jwt_vectors() -> dict:
    pyjwt = f"token encoded by PyJWT {TOOLS['PyJWT']}, payload_hash by Python's hashlib"
    now = IAT + 5
    good_event = jwt.encode(claims(VOICE_EVENT, jti="1"), SECRET, algorithm="HS256")
    vectors = [
        jwt_vector(
            "voice_event",
            "A Voice event webhook (POST, JSON body)",
            token=good_event, body=VOICE_EVENT, secret=SECRET, iat=IAT, now=now,
            expected="ok", source=pyjwt,
        ),
        jwt_vector(
            "voice_answer_post",
            "A Voice answer webhook sent with POST",
            token=jwt.encode(claims(VOICE_ANSWER, jti="2"), SECRET, algorithm="HS256"),
            body=VOICE_ANSWER, secret=SECRET, iat=IAT, now=now, expected="ok", source=pyjwt,
        ),
        jwt_vector(
            "messages_inbound_utf8",
            "A Messages inbound webhook whose body has non-ASCII text and & and =",
            token=jwt.encode(claims(MESSAGES_INBOUND, jti="3"), SECRET, algorithm="HS256"),
            body=MESSAGES_INBOUND, secret=SECRET, iat=IAT, now=now, expected="ok", source=pyjwt,
        ),
        jwt_vector(
            "get_without_payload_hash",
            "A request without a body (GET) whose claims carry no payload_hash",
            token=jwt.encode(claims(None, jti="4"), SECRET, algorithm="HS256"),
            body="", secret=SECRET, iat=IAT, now=now, expected="ok", source=pyjwt,
        ),
        jwt_vector(
            "iat_at_the_edge",
            "A token exactly max_age_seconds old is still accepted",
            token=jwt.encode(claims(VOICE_EVENT, jti="5"), SECRET, algorithm="HS256"),
            body=VOICE_EVENT, secret=SECRET, iat=IAT, now=IAT + MAX_AGE, expected="ok",
            source=pyjwt,
        ),
        jwt_vector(
            "wrong_secret",
            "Signed with another secret",
            token=jwt.encode(claims(VOICE_EVENT, jti="6"), OTHER_SECRET, algorithm="HS256"),
            body=VOICE_EVENT, secret=SECRET, iat=IAT, now=now, expected="invalid", source=pyjwt,
        ),
        jwt_vector(
            "body_changed",
            "A good token with a body that is not the one it was signed for (to changed)",
            token=good_event, body=VOICE_EVENT.replace("447700900101", "447700900999"),
            secret=SECRET, iat=IAT, now=now, expected="tampered", source=pyjwt,
        ),
        jwt_vector(
            "body_reformatted",
            "A good token with the same JSON written with spaces: the hash is over raw bytes",
            token=good_event, body=json.dumps(json.loads(VOICE_EVENT)),
            secret=SECRET, iat=IAT, now=now, expected="tampered", source=pyjwt,
        ),
        jwt_vector(
            "alg_none",
            "An unsigned token (alg none) with otherwise good claims",
            token=jwt.encode(claims(VOICE_EVENT, jti="7"), None, algorithm="none"),
            body=VOICE_EVENT, secret=SECRET, iat=IAT, now=now, expected="invalid",
            source=pyjwt,
        ),
        jwt_vector(
            "hs512",
            "Signed with the right secret but HS512, which Vonage never uses",
            token=jwt.encode(claims(VOICE_EVENT, jti="8"), SECRET, algorithm="HS512"),
            body=VOICE_EVENT, secret=SECRET, iat=IAT, now=now, expected="invalid",
            source=pyjwt,
        ),
    ]

    # The claims of a good token swapped for ones covering another body, signature kept.
    forged_body = VOICE_EVENT.replace("447700900001", "447700900666")
    head, _, sig = good_event.split(".")
    forged_claims = json.dumps(claims(forged_body, jti="1"), separators=(",", ":"))
    forged = f"{head}.{b64url(forged_claims.encode())}.{sig}"
    vectors.append(
        jwt_vector(
            "claims_swapped",
            "A good token's signature over claims rewritten for another body",
            token=forged, body=forged_body, secret=SECRET, iat=IAT, now=now,
            expected="invalid", source=pyjwt + "; claims segment replaced by hand",
        )
    )

    vectors += [
        jwt_vector(
            "stale",
            "A good token more than max_age_seconds old",
            token=jwt.encode(claims(VOICE_EVENT, jti="9"), SECRET, algorithm="HS256"),
            body=VOICE_EVENT, secret=SECRET, iat=IAT, now=IAT + MAX_AGE + 1,
            expected="stale", source=pyjwt,
        ),
        jwt_vector(
            "from_the_future",
            "A good token issued more than max_age_seconds after now",
            token=jwt.encode(claims(VOICE_EVENT, jti="10"), SECRET, algorithm="HS256"),
            body=VOICE_EVENT, secret=SECRET, iat=IAT, now=IAT - MAX_AGE - 1,
            expected="stale", source=pyjwt,
        ),
        jwt_vector(
            "other_account",
            "Signed with the secret but for another account's api_key",
            token=jwt.encode(
                claims(VOICE_EVENT, jti="11", api_key="zzzz9999"), SECRET, algorithm="HS256"
            ),
            body=VOICE_EVENT, secret=SECRET, iat=IAT, now=now, expected="wrong_account",
            source=pyjwt,
        ),
        jwt_vector(
            "other_application",
            "Signed with the secret for the account but another application",
            token=jwt.encode(
                claims(
                    VOICE_EVENT, jti="12", application_id="ffffffff-eeee-4ddd-8ccc-ba9876543210"
                ),
                SECRET,
                algorithm="HS256",
            ),
            body=VOICE_EVENT, secret=SECRET, iat=IAT, now=now, expected="wrong_application",
            source=pyjwt,
        ),
    ]

    # Published by Vonage: the token its Python SDK's `verify_signature` tests accept. Its
    # claims are {"iss": "Online JWT Builder", "iat": 1697634680, "exp": 33254540828,
    # "aud": "", "sub": ""}: no payload_hash, so only an empty body matches it, and no
    # application_id, so it is checked with none configured.
    published = (
        "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJPbmxpbmUgSldUIEJ1aWxkZXIiLCJpYXQiOj"
        "E2OTc2MzQ2ODAsImV4cCI6MzMyNTQ1NDA4MjgsImF1ZCI6IiIsInN1YiI6IiJ9.88vJc3I2HhuqEDixHXVh"
        "c9R30tA6U_HQHZTC29y6CGM"
    )
    published_secret = "qwertyuiopasdfghjklzxcvbnm123456"
    published_iat = 1697634680
    assert jwt.decode(published, published_secret, algorithms=["HS256"])["iat"] == published_iat
    src = "published by Vonage: " + PY_SDK4_JWT
    vectors += [
        jwt_vector(
            "vonage_published",
            "Vonage's published HS256 token, empty body",
            token=published, body="", secret=published_secret, iat=published_iat,
            now=published_iat + 5, expected="ok", source=src,
            application_id=None,
        ),
        jwt_vector(
            "vonage_published_with_body",
            "Vonage's published token (no payload_hash) with a body",
            token=published, body="{}", secret=published_secret, iat=published_iat,
            now=published_iat + 5, expected="tampered", source=src,
            application_id=None,
        ),
        jwt_vector(
            "vonage_published_wrong_secret",
            "Vonage's published token checked with the secret its tests refuse",
            token=published, body="", secret="asdf", iat=published_iat,
            now=published_iat + 5, expected="invalid", source=src,
            application_id=None,
        ),
    ]

    # The SDK checks the signature only: it must call exactly the "invalid" ones not valid.
    for v in vectors:
        assert (v["sdk_verify_signature"] == "valid") == (v["expected"] != "invalid"), v["name"]

    return {
        "description": (
            "Vonage signed webhooks (Voice, Messages): Authorization: Bearer <JWT>, HS256 with "
            "the signature secret, payload_hash = hex SHA-256 of the raw body. Check each with "
            "a verifier set up with this entry's secret, api_key, application_id (null: none "
            "expected) and max_age_seconds, at `now`, that also takes GET requests; `expected` "
            "is ok, invalid, tampered, stale, wrong_account or wrong_application. Where only "
            "POST is taken, an empty body, or a token without payload_hash (has_payload_hash) "
            "that would otherwise pass or be tampered, is refused as unsigned. "
            "`sdk_verify_signature` is what the Vonage SDK's vonage_jwt.verify_signature says "
            "(it checks the signature only, not payload_hash, iat, api_key or application_id)."
        ),
        "source": (
            f"generated by scripts/signature_vectors.py: tokens encoded by PyJWT "
            f"{TOOLS['PyJWT']}, checked with vonage-jwt {TOOLS['vonage-jwt']} verify_signature; "
            f"the vonage_published* entries are published by Vonage in {PY_SDK4_JWT}"
        ),
        "tools": TOOLS,
        "max_age_seconds": MAX_AGE,
        "vectors": vectors,
    }


# ---------------------------------------------------------------------------------------------
# SMS API `sig`
# ---------------------------------------------------------------------------------------------

METHODS = ("md5hash", "md5", "sha1", "sha256", "sha512")
SMS_SECRET = "Qm7xR2vB9kLp4sT6wZ1nC8dF3hJ5gY0e"


def documented_text(params: dict) -> str:
    """Vonage's documented signed text: every parameter but sig, sorted by name, each written
    `&name=value` with `&` and `=` in the value replaced by `_`."""
    return "".join(
        f"&{k}={str(v).replace('&', '_').replace('=', '_')}"
        for k, v in sorted(params.items())
        if k != "sig"
    )


def documented_sig(params: dict, secret: str, method: str) -> str:
    """Vonage's documented algorithm, from hashlib/hmac alone: md5hash is MD5 of the text
    followed by the secret; the others are the HMAC of the text keyed by the secret."""
    text = documented_text(params).encode("utf-8")
    if method == "md5hash":
        return hashlib.md5(text + secret.encode("utf-8")).hexdigest()
    return hmac.new(secret.encode("utf-8"), text, method).hexdigest()


def sdk4(secret: str, method: str) -> Auth:
    return Auth(api_key="abcd1234", signature_secret=secret, signature_method=method)


def sdk3(secret: str, method: str) -> vonage.Client:
    return vonage.Client(
        key="abcd1234",
        secret="unused",
        signature_secret=secret,
        signature_method=None if method == "md5hash" else method,
    )


def sdk_sig(params: dict, secret: str, method: str) -> tuple[str, str]:
    """The sig the Vonage SDK's helper computes, and which helper it was. Each is cross-checked
    against the other SDK (where both can) and against the documented algorithm."""
    old = sdk3(secret, method).signature(dict(params))
    if method == "md5hash":
        sig, helper = old, f"vonage {TOOLS['vonage']} Client.signature (md5hash)"
    else:
        sig = sdk4(secret, method).sign_params(dict(params))
        helper = f"vonage-http-client {TOOLS['vonage-http-client']} Auth.sign_params"
        assert sig == old, (method, sig, old)
    assert sig == documented_sig(params, secret, method), (method, params)
    return sig, helper


def sdk_accepts(params: dict, sig: str, secret: str, method: str) -> bool:
    """The SDK's own check of a signed request (it lower-cases the sig)."""
    signed = {**params, "sig": sig}
    if method == "md5hash":  # the 4.x check cannot do md5hash
        return sdk3(secret, method).check_signature(dict(signed))
    return sdk4(secret, method).check_signature(dict(signed))


def sms_vector(name, description, *, method, secret, params, sig, source) -> dict:
    assert documented_sig(params, secret, method) == sig.lower(), (name, sig)
    v = {
        "name": name,
        "description": description,
        "method": method,
        "secret": secret,
        "params": params,
        "signed_text": documented_text(params),
        "sig": sig,
    }
    if "timestamp" in params:  # without one the SDK would add the current time
        assert sdk_accepts(params, sig, secret, method), name
        v["now"] = int(params["timestamp"]) + 5
    v["source"] = source
    return v


def sms_vectors() -> dict:
    inbound = {
        "api-key": "abcd1234",
        "msisdn": "447700900001",
        "to": "447700900101",
        "messageId": "1000000023F2E4C1",
        "text": "Meet at 5? a=b&c=d",
        "type": "text",
        "keyword": "MEET",
        "message-timestamp": "2026-03-14 09:26:53",
        "timestamp": "1773480413",
        "nonce": "6b1c6f3e-7d2a-4c4b-9a51-0d3e8f2b7c11",
    }
    unicode_text = {
        **inbound,
        "messageId": "1000000023F2E4C2",
        "text": "Café ☕ = 3€ & more",
        "type": "unicode",
        "keyword": "CAFÉ",
        "nonce": "0f9e8d7c-6b5a-4493-8271-605f4e3d2c1b",
    }
    vectors = []
    for method in METHODS:
        # The SDK's helper applies the cleaning rule: & and = sign as _.
        cleaned = {**inbound, "text": inbound["text"].replace("&", "_").replace("=", "_")}
        assert sdk_sig(inbound, SMS_SECRET, method) == sdk_sig(cleaned, SMS_SECRET, method)
        for label, params, what in (
            ("inbound", inbound, "An inbound SMS whose text has & and ="),
            ("unicode", unicode_text, "An inbound unicode SMS (UTF-8) with & and ="),
        ):
            sig, helper = sdk_sig(params, SMS_SECRET, method)
            vectors.append(
                sms_vector(
                    f"{label}_{method}", what, method=method, secret=SMS_SECRET,
                    params=params, sig=sig,
                    source=f"sig computed by the Vonage SDK: {helper}; equal to hashlib/hmac "
                    "over Vonage's documented algorithm"
                    + ("" if method == "md5hash" else f" and to vonage {TOOLS['vonage']} "
                       "Client.signature"),
                )
            )

    # Published by Vonage in its Ruby SDK's tests: a real-looking inbound SMS; the HMAC sigs
    # are upper-case hex there.
    ruby_params = {
        "message-timestamp": "2013-11-21 15:27:30",
        "messageId": "020000001B0FE827",
        "msisdn": "14843472194",
        "text": "Test again",
        "timestamp": "1385047698",
        "to": "13239877404",
        "type": "text",
    }
    ruby_sigs = {
        "md5hash": "d2e7b1dc968737c5998ad624e02f90b7",
        "md5": "DDEBD46008C2D4E93CCE578A332A52D5",
        "sha1": "27D0D05C2876C7CB1720DBCDBA4D492E1E55C09A",
        "sha256": "DDB8397C2B90AAC7F3882D306475C9A5058C92322EEF43C92B298B6E0FC0D330",
        "sha512": "E0D3C650F8C9D1A5C174D10DDDBFB003E561F59B265616208B0487C5D819481CD3C311D59CF"
        "6165ECD1139622D5BA3A256C0D763AC4A9AD9144B5A426B94FE82",
    }
    for method, sig in ruby_sigs.items():
        vectors.append(
            sms_vector(
                f"vonage_ruby_{method}", "Vonage's published inbound SMS vector",
                method=method, secret="my_secret_key_for_testing", params=ruby_params, sig=sig,
                source="published by Vonage: " + RUBY_SDK,
            )
        )
    for value, label in (("_", "underscore"), ("&", "amp"), ("=", "eq")):
        vectors.append(
            sms_vector(
                f"vonage_ruby_cleaning_{label}",
                "Vonage's published cleaning vector: _, & and = in a value sign alike "
                "(no timestamp, so it can never pass the age check)",
                method="md5hash", secret="my_secret_key_for_testing", params={"k": value},
                sig="c3d6a686ab9c7e7408bb1c0506e9629a",
                source="published by Vonage: " + RUBY_SDK,
            )
        )

    # Published by Vonage in its Python SDK 3.x tests (the md5hash one also in the Ruby SDK's).
    py3_params = {"a": "1", "b": "2", "timestamp": "1461605396"}
    py3_sigs = {
        "md5hash": "6af838ef94998832dbfc29020b564830",
        "md5": "c15c21ced558c93a226c305f58f902f2",
        "sha1": "3e19a4e6880fdc2c1426bfd0587c98b9532f0210",
        "sha256": "a321e824b9b816be7c3f28859a31749a098713d39f613c80d455bbaffae1cd24",
        "sha512": "812a18f76680fa0fe1b8bd9ee1625466ceb1bd96242e4d050d2cfd9a7b40166c63ed26ec9702"
        "168781b6edcf1633db8ff95af9341701004eec3fcf9550572ee8",
    }
    for method, sig in py3_sigs.items():
        vectors.append(
            sms_vector(
                f"vonage_python3_{method}", "Vonage's published minimal vector",
                method=method, secret="secret", params=py3_params, sig=sig,
                source="published by Vonage: " + PY_SDK3,
            )
        )

    # Published by Vonage in its Python SDK 4.x tests (there the timestamp is the integer
    # 1234567890, which signs as the same text).
    for name, method, params, sig in (
        ("sign_params", "sha256", {"param1": "value1", "param2": "value2"},
         "280c4320703dbc98bfa22db676655ed2acfbfe8792b062ff7622e67f1183c287"),
        ("default_method", "md5", {"param1": "value1", "param2": "value2"},
         "724c2bf6ca423c36e20631b11d1c5753"),
        ("special_characters", "md5", {"param1": "value&1", "param2": "value=2"},
         "2bbf0abafb2c55e5af6231513896a2ac"),
        ("check_signature", "md5", {"param": "value"}, "655a4d0b7f064dff438defc52b012cf5"),
    ):
        vectors.append(
            sms_vector(
                f"vonage_python4_{name}", "Vonage's published vector", method=method,
                secret="signature_secret", params={**params, "timestamp": "1234567890"},
                sig=sig, source="published by Vonage: " + PY_SDK4,
            )
        )

    return {
        "description": (
            "SMS API signed webhooks: sig over every other parameter sorted by name, written "
            "&name=value with & and = in values replaced by _ (signed_text), either MD5 of that "
            "text followed by the secret (md5hash) or its HMAC keyed by the secret (md5, sha1, "
            "sha256, sha512); lower- or upper-case hex. `params` excludes sig. Entries with a "
            "timestamp pass at `now`; those without one match but fail the age check."
        ),
        "source": (
            "generated by scripts/signature_vectors.py. sig values are from the Vonage Python "
            f"SDK's own helpers: HMAC variants from vonage-http-client "
            f"{TOOLS['vonage-http-client']} Auth.sign_params (the current SDK; it has no "
            f"md5hash) and md5hash from vonage {TOOLS['vonage']} Client.signature (the last SDK "
            "with md5hash); both apply the & and = cleaning rule. Each is also recomputed with "
            "Python's hashlib/hmac from Vonage's documented algorithm. The vonage_* entries are "
            f"published by Vonage in {RUBY_SDK}, {PY_SDK3} and {PY_SDK4}, each re-checked the "
            "same way. Left out: the HMAC vectors of the Ruby SDK's tests before its 2019 "
            "'fixed the hashing algorithm' change (c5725da0... for md5 and so on), made by a "
            "helper Vonage later corrected."
        ),
        "tools": TOOLS,
        "vectors": vectors,
    }


def render(doc: dict) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--check", action="store_true", help="compare with the files, write nothing"
    )
    args = parser.parse_args()
    files = {
        OUT / "webhook_jwt.json": render(jwt_vectors()),
        OUT / "sms_sig.json": render(sms_vectors()),
    }
    stale = [p for p, text in files.items() if not p.exists() or p.read_text("utf-8") != text]
    if args.check:
        for p in stale:
            print(f"out of date: {p.relative_to(ROOT)}", file=sys.stderr)
        return 1 if stale else 0
    OUT.mkdir(parents=True, exist_ok=True)
    for p, text in files.items():
        p.write_text(text, "utf-8")
        print(f"wrote {p.relative_to(ROOT)} ({'changed' if p in stale else 'unchanged'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
