#!/usr/bin/env python3
"""The local DynamoDB-API server: moto's server, made to keep DynamoDB's promises.

Two changes to moto, both about atomicity:

1. Each request is handled alone. Real DynamoDB applies every write, conditional write and
   transaction atomically, so two requests never see each other half-done. moto checks a
   condition and then writes, on a thread per connection, with no lock: two concurrent
   transactions could both pass the same condition. The concurrency tests rely on this.

2. TransactWriteItems checks every condition against the state before the transaction, then
   applies the writes, as DynamoDB does. moto 5 applies each item before checking the next
   one's condition, and takes a deep copy of the whole table per item to roll back with, which
   makes a transaction cost O(table) in time and memory (a 60,000-item table ran this machine
   out of memory). Here only the items a transaction touches are saved for a rollback.

Usage: dynamodb_local.py [PORT]   (default 8000, on 127.0.0.1)
"""
import copy
import os
import sys
import threading

from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple


def transact_write_items(self, transact_items):
    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    ops, seen = [], set()
    for entry in transact_items:
        if len(entry) != 1:
            raise TransactWriteSingleOpException
        op_type, op = next(iter(entry.items()))
        if op_type not in ("ConditionCheck", "Put", "Delete", "Update"):
            raise ValueError("Unsupported transaction operation")
        table = self.get_table(op["TableName"])
        if op_type == "Put":
            attrs = op["Item"]
            key = {table.hash_key_attr: attrs[table.hash_key_attr]}
            if table.range_key_attr is not None:
                key[table.range_key_attr] = attrs[table.range_key_attr]
        else:
            key = op["Key"]
        ident = (op["TableName"], str(sorted(key.items())))
        if ident in seen:
            raise MultipleTransactionsException()
        seen.add(ident)
        ops.append((op_type, op, key))

    # Every condition, against the state before the transaction.
    reasons, failed = [], False
    for op_type, op, key in ops:
        condition = op.get("ConditionExpression")
        if condition is None:
            reasons.append((None, None, None))
            continue
        current = self.get_item(op["TableName"], key)
        check = get_filter_expression(
            condition, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
        )
        if check.expr(current):
            reasons.append((None, None, None))
        else:
            failed = True
            old = None
            if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                old = current.to_json()["Attributes"]
            reasons.append(("ConditionalCheckFailed", "The conditional request failed", old))
    if failed:
        raise TransactionCanceledException(reasons)

    # Then the writes; a write refused on the way puts the touched items back.
    saved = []
    for op_type, op, key in ops:
        if op_type != "ConditionCheck":
            before = self.get_item(op["TableName"], key)
            saved.append((op["TableName"], key, copy.deepcopy(before.to_json()["Attributes"]) if before else None))
    try:
        for op_type, op, key in ops:
            if op_type == "Put":
                self.put_item(op["TableName"], op["Item"])
            elif op_type == "Delete":
                self.delete_item(op["TableName"], key)
            elif op_type == "Update":
                self.update_item(
                    op["TableName"],
                    key,
                    update_expression=op["UpdateExpression"],
                    expression_attribute_names=op.get("ExpressionAttributeNames"),
                    expression_attribute_values=op.get("ExpressionAttributeValues"),
                )
    except Exception:
        for table_name, key, attrs in saved:
            if attrs is None:
                self.delete_item(table_name, key)
            else:
                self.put_item(table_name, attrs)
        raise


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8000
    os.environ.setdefault("MOTO_PORT", str(port))
    DynamoDBBackend.transact_write_items = transact_write_items
    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def serialized(environ, start_response):
        with lock:
            return list(app(environ, start_response))

    run_simple("127.0.0.1", port, serialized, threaded=True)


if __name__ == "__main__":
    main()
