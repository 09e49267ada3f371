# Runs one user's dlt source for Dango, in a Python process of its own. Dango does everything
# after the user's generators: this script only imports the module, calls the source function
# (dlt resolves its secrets), iterates the selected resources through dlt's own item pipeline
# (incremental, transformers, add_map, limits, parallelize), and writes what comes out to
# Dango as frames on a pipe. The incremental state dlt keeps goes in and out as dlt's typed
# JSON; Dango commits it with the rows.
#
# Frames (on the fd that was stdout; user print() goes to stderr): one byte kind, a 4-byte
# little-endian length, the payload.
#   D  describe: JSON of the source, its resources and their table hints
#   T  a table seen for the first time: JSON of its hints
#   J  a page of records: u16 table-name length, the name, dlt's typed JSON array
#   A  Arrow items: u16 table-name length, the name, an Arrow IPC stream
#   S  the source state after a successful run: JSON {"state": typed JSON, "cursors": [...]}
#   E  an error: JSON {"kind", "message", "resource", "traceback"}
# After D the script reads one JSON line on stdin ({"state": typed JSON or null}) and runs;
# an empty stdin means "describe only".

import gc
import importlib
import json
import os
import struct
import sys
import traceback

DATA = os.fdopen(os.dup(1), "wb", buffering=1 << 16)
os.dup2(2, 1)
sys.stdout = sys.stderr


def frame(kind, payload):
    DATA.write(kind + struct.pack("<I", len(payload)))
    DATA.write(payload)


def frame_json(kind, value):
    frame(kind, json.dumps(value, default=str).encode("utf-8"))


def fail(kind, message, resource=None, tb=None):
    frame_json(b"E", {"kind": kind, "message": message, "resource": resource, "traceback": tb})
    DATA.flush()
    sys.exit(3)


def user_traceback(exc):
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))


def main():
    config = json.loads(sys.argv[1])
    project = config["project"]
    sys.path[:0] = [project, os.path.join(project, "custom_sources")]
    try:
        import dlt
    except ImportError as e:
        fail("dlt_missing", str(e))
    # The tutorial annotates `-> Iterator[dlt.DltResource]`, which dlt 1.x only has as
    # `dlt.sources.DltResource`: without the alias its files do not import.
    if not hasattr(dlt, "DltResource"):
        dlt.DltResource = dlt.sources.DltResource
    try:
        module = importlib.import_module(config["module"])
    except Exception as e:
        fail("module", f"{type(e).__name__}: {e}", tb=user_traceback(e))
    factory = find_source_function(module, config.get("function"))
    section = config["module"].rsplit(".", 1)[-1]
    source = call_source(dlt, factory, config, section)
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)
    frame_json(b"D", describe(dlt, source))
    DATA.flush()
    line = sys.stdin.readline()
    if not line.strip():
        return
    request = json.loads(line)
    run(dlt, source, config, request.get("state"))


def source_functions(module):
    from dlt.extract.reference import SourceFactory

    # `@dlt.source` turns a function into a source factory.
    return sorted(name for name, value in vars(module).items() if isinstance(value, SourceFactory))


def find_source_function(module, name):
    found = source_functions(module)
    if name is None:
        if len(found) == 1:
            name = found[0]
        else:
            fail(
                "function",
                f"module `{module.__name__}` has {len(found)} @dlt.source functions "
                f"({', '.join(found) or 'none'}); name one with `source_function:`",
            )
    factory = getattr(module, name, None)
    if factory is None or not callable(factory):
        fail(
            "function",
            f"module `{module.__name__}` ({module.__file__}) has no function `{name}`; "
            f"its @dlt.source functions: {', '.join(found) or 'none'}",
        )
    return factory


def call_source(dlt, factory, config, section):
    from dlt.common.configuration.exceptions import ConfigFieldMissingException
    from dlt.common.configuration.resolve import inject_section
    from dlt.common.configuration.specs.config_section_context import ConfigSectionContext
    from dlt.extract import DltResource, DltSource

    try:
        with inject_section(
            ConfigSectionContext(pipeline_name=config["pipeline_name"], sections=("sources", section))
        ):
            made = factory(**config.get("kwargs", {}))
            if isinstance(made, DltResource):
                made = DltSource(dlt.Schema(made.name), section, [made])
    except ConfigFieldMissingException as e:
        fail("secret", str(e), tb=user_traceback(e))
    except Exception as e:
        fail("exception", f"{type(e).__name__}: {e}", tb=user_traceback(e))
    if not isinstance(made, DltSource):
        fail("function", f"`{config.get('function')}` returned {type(made).__name__}, not a dlt source")
    return made


MERGE_STRATEGIES = ("delete-insert", "upsert", "insert-only", "scd2")


def unsupported(computed):
    """Why Dango cannot load a table with these hints as dlt would, or None."""
    strategy = computed.get("x-merge-strategy")
    if strategy not in (None,) + MERGE_STRATEGIES:
        return (
            f"`{strategy}` is not one of dlt's merge strategies: use `delete-insert` (the "
            "default), `upsert`, `insert-only` or `scd2`"
        )
    columns = computed.get("columns") or {}
    for name in ("hard_delete", "dedup_sort"):
        named = [c for c, h in columns.items() if h.get(name)]
        if len(named) > 1:
            return f"`{name}` is set on {len(named)} columns ({', '.join(named)}); dlt allows one"
    if strategy in ("upsert", "insert-only") and any(h.get("merge_key") for h in columns.values()):
        return (
            f"`merge_key` is not used by the `{strategy}` strategy, which matches on the primary "
            "key (dlt ignores it with a log line); remove it, or use `delete-insert`"
        )
    return None


def first_with(columns, prop):
    return next((c for c, h in columns.items() if h.get(prop)), None)


def iso(value, option, resource):
    """A dlt timestamp option as ISO 8601 text, read by dlt's own parser."""
    if value is None:
        return None
    from dlt.common import time as dlt_time

    # dlt 1.31 names it `ensure_pendulum_datetime`; later versions add `_utc`.
    parse = getattr(dlt_time, "ensure_pendulum_datetime_utc", None) or dlt_time.ensure_pendulum_datetime
    try:
        return parse(value).isoformat()
    except Exception as e:
        fail("unsupported", f"`{option}` {value!r} is not a date or datetime: {e}", resource=resource)


def merge_hints(computed, columns, resource):
    """The merge strategy and the hints that shape it, as dlt computed them."""
    strategy = computed.get("x-merge-strategy") or "delete-insert"
    sort = first_with(columns, "dedup_sort")
    valid_to = first_with(columns, "x-valid-to")
    version = first_with(columns, "x-row-version")
    return {
        "strategy": strategy,
        "hard_delete": first_with(columns, "hard_delete"),
        "dedup_sort": [sort, columns[sort]["dedup_sort"]] if sort else None,
        "deduplicated": bool(computed.get("x-stage-data-deduplicated")),
        "valid_from": first_with(columns, "x-valid-from"),
        "valid_to": valid_to,
        "active_record_timestamp": iso(
            columns[valid_to].get("x-active-record-timestamp") if valid_to else None,
            "active_record_timestamp",
            resource,
        ),
        "boundary_timestamp": iso(computed.get("x-boundary-timestamp"), "boundary_timestamp", resource),
        "row_version": version if version and version != "_dlt_id" else None,
    }


def table_hints(resource, schema, source, item=None, meta=None):
    """The hints of the table `item` lands in, as dlt computes them; a hint Dango does not
    implement fails the source, naming the resource and the hint."""
    computed = resource.compute_table_schema(item, meta)
    why = unsupported(computed)
    if why:
        fail("unsupported", why, resource=resource.name)
    disposition = computed.get("write_disposition") or "append"
    if isinstance(disposition, dict):
        disposition = disposition.get("disposition", "append")
    columns = computed.get("columns") or {}
    nesting = resource.max_table_nesting
    if nesting is None:
        nesting = source.max_table_nesting
    contract = computed.get("schema_contract") or source.schema_contract
    # The strategy's own columns (scd2's validity columns, its `_dlt_id` version) are Dango's.
    own = ("x-valid-from", "x-valid-to")
    return {
        "table": computed["name"],
        "write_disposition": disposition,
        "merge": merge_hints(computed, columns, resource.name) if disposition == "merge" else None,
        "primary_key": [c for c, h in columns.items() if h.get("primary_key")],
        "merge_key": [c for c, h in columns.items() if h.get("merge_key")],
        "max_table_nesting": nesting,
        "columns": {
            c: declared(h)
            for c, h in columns.items()
            if declared(h) and not any(h.get(o) for o in own[:2]) and c != "_dlt_id"
        },
        "schema_contract": contract or None,
    }


DECLARED = ("data_type", "precision", "scale", "timezone", "nullable")


def declared(hint):
    """The parts of a column hint that shape the column (keys are the table's business)."""
    shaped = {k: hint[k] for k in DECLARED if hint.get(k) is not None}
    if shaped.get("nullable", False) is not False:
        del shaped["nullable"]
    return shaped


def describe(dlt, source):
    resources = []
    for resource in source.selected_resources.values():
        hints = None if resource.has_dynamic_table_name else table_hints(resource, source.schema, source)
        resources.append({"name": resource.name, "hints": hints, "incremental": resource.incremental is not None})
    return {
        "source": source.name,
        "section": source.section,
        "dlt_version": dlt.__version__,
        "python": sys.executable,
        "resources": resources,
    }


class Pages:
    """Items gathered per table and written as pages."""

    def __init__(self, source, page_size):
        from dlt.common import json as dlt_json

        self.dumps = dlt_json.typed_dumpb
        self.source = source
        self.page_size = page_size
        self.buffers = {}
        self.tables = {}
        # Table of each resource whose plain items always land in one table.
        self.static = {}

    def table(self, resource, item, meta):
        from dlt.extract.items import TableNameMeta

        if isinstance(meta, TableNameMeta):
            name = meta.table_name
        elif resource.has_dynamic_table_name:
            name = resource._table_name_hint_fun(item)
        else:
            name = resource.table_name
        if name not in self.tables:
            hints = table_hints(resource, self.source.schema, self.source, item, meta)
            hints["table"] = name
            self.tables[name] = hints
            frame_json(b"T", hints)
        return name

    def add(self, resource, items, meta):
        # The common case, once per yielded dict: a plain item of a resource with a fixed table.
        if meta is None and type(items) is dict:
            table = self.static.get(resource.name)
            if table is not None:
                buffer = self.buffers.get(table)
                if buffer is None:
                    buffer = self.buffers[table] = []
                buffer.append(items)
                if len(buffer) >= self.page_size:
                    self.flush(table)
                return
        self.add_any(resource, items, meta)

    def add_any(self, resource, items, meta):
        from dlt.extract.hints import HintsMeta
        from dlt.extract.items import TableNameMeta

        if isinstance(meta, HintsMeta) and meta.hints:
            resource.merge_hints(meta.hints, meta.create_table_variant)
            meta = TableNameMeta(meta.hints["table_name"]) if meta.create_table_variant else None
        if not isinstance(items, list):
            items = [items]
        if not items:
            return
        if is_arrow_like(items[0]):
            for item in items:
                self.arrow(self.table(resource, None, meta), item)
            return
        if resource.has_dynamic_table_name and not isinstance(meta, TableNameMeta):
            for item in items:
                self.append(self.table(resource, item, meta), [item])
        else:
            table = self.table(resource, items[0], meta)
            if meta is None and not resource.has_dynamic_table_name:
                self.static[resource.name] = table
            self.append(table, items)

    def append(self, table, items):
        buffer = self.buffers.setdefault(table, [])
        buffer.extend(items)
        if len(buffer) >= self.page_size:
            self.flush(table)

    def flush(self, table):
        buffer = self.buffers.pop(table, None)
        if buffer:
            name = table.encode("utf-8")
            frame(b"J", struct.pack("<H", len(name)) + name + self.dumps(buffer))

    def flush_all(self):
        for table in list(self.buffers):
            self.flush(table)

    def arrow(self, table, item):
        import pyarrow as pa

        self.flush(table)
        if not isinstance(item, (pa.Table, pa.RecordBatch)):
            item = pa.Table.from_pandas(item, preserve_index=False) if hasattr(item, "to_records") else item.to_arrow()
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, item.schema) as writer:
            writer.write(item)
        name = table.encode("utf-8")
        frame(b"A", struct.pack("<H", len(name)) + name + sink.getvalue().to_pybytes())


def is_arrow_like(item):
    kind = type(item)
    module = kind.__module__.split(".", 1)[0]
    return module in ("pyarrow", "pandas", "polars") and kind.__name__ in ("Table", "RecordBatch", "DataFrame")


def run(dlt, source, config, saved):
    from dlt.common.configuration.container import Container
    from dlt.common.configuration.resolve import inject_section
    from dlt.common.configuration.specs.config_section_context import ConfigSectionContext
    from dlt.common import json as dlt_json
    from dlt.common.pipeline import StateInjectableContext
    from dlt.extract.exceptions import PipeException, ResourceExtractionError
    from dlt.extract.pipe_iterator import PipeIterator
    from dlt.extract.state import reset_resource_state
    from dlt.extract.source import SourceInjectableContext, SourceSchemaInjectableContext

    state = {"sources": {source.name: dlt_json.typed_loads(saved) if saved else {}}}
    pages = Pages(source, config.get("page_size", 1000))
    container = Container()
    try:
        with (
            container.injectable_context(StateInjectableContext(state=state)),
            container.injectable_context(SourceSchemaInjectableContext(source.schema)),
            container.injectable_context(SourceInjectableContext(source)),
            inject_section(
                ConfigSectionContext(
                    pipeline_name=config["pipeline_name"],
                    sections=("sources", source.section, source.name),
                    source_state_key=source.name,
                )
            ),
        ):
            for resource in source.resources.extracted:
                if resource.write_disposition == "replace":
                    reset_resource_state(resource.name)
            with PipeIterator.from_pipes(
                source.resources.selected_pipes, workers=config.get("workers", 5)
            ) as items:
                for item in items:
                    resource = source.resources.with_pipe(item.pipe)
                    pages.add(resource, item.item, item.meta)
            pages.flush_all()
    except ResourceExtractionError as e:
        cause = e.__cause__ or e
        fail("resource", f"{type(cause).__name__}: {cause}", e.pipe_name, user_traceback(cause))
    except PipeException as e:
        # dlt's own checks on a resource's items (a missing incremental cursor, say).
        fail("resource", f"{type(e).__name__}: {e}", e.pipe_name, user_traceback(e))
    except Exception as e:
        fail("exception", f"{type(e).__name__}: {e}", tb=user_traceback(e))
    mine = state["sources"][source.name]
    frame_json(b"S", {"state": dlt_json.typed_dumps(mine), "cursors": cursors(mine)})
    DATA.flush()


def cursors(state):
    """Each resource's incremental cursors, readable: for `dango state` and the summary."""
    out = []
    for resource, resource_state in (state.get("resources") or {}).items():
        for path, inc in ((resource_state or {}).get("incremental") or {}).items():
            out.append({"resource": resource, "path": path, "last_value": inc.get("last_value")})
    return out


if __name__ == "__main__":
    try:
        main()
    finally:
        try:
            DATA.flush()
        except BrokenPipeError:
            pass
