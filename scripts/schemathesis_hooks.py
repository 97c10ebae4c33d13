"""schemathesis hooks for scripts/api-fuzz.

Bodies that are not UTF-8 are left out: the local emulator (cargo lambda watch) answers them with
its own 500 before any function runs, which API Gateway does not (it base64-encodes them, and the
handlers answer 400 invalid_json; their tests send such a body).
"""
import schemathesis


@schemathesis.hook
def filter_body(ctx, body):
    if isinstance(body, (bytes, bytearray)):
        try:
            bytes(body).decode("utf-8")
        except UnicodeDecodeError:
            return False
    return True
