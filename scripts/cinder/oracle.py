#!/usr/bin/python3
"""Cinder's own request reading as a long-lived oracle for the differential test (docs/differential-testing.md).

This runs the REAL cinder-api stack from Debian's python3-cinder, exactly as ``cinder-api`` builds it:
``cinder.service.WSGIService('osapi_volume')`` loads the paste pipeline from the configuration's
api-paste.ini (request id, CORS, FaultWrapper, sizelimit, noauth, URLMap, Cinder's v3 APIRouter with
Routes' RoutesMiddleware and its method override) and serves it with oslo.service's eventlet WSGI server
(eventlet.wsgi.server, http.server's request-line parsing), bound to 127.0.0.1.

ONE thing is replaced: ``cinder.api.openstack.wsgi.Resource.dispatch``, the call from the resource into the
controller method. Everything before it runs as in Cinder: routing, body deserialization, the action-key
peek of ``POST .../action``, the "project in the URL must be the token's project" check, microversion
selection. Instead of calling the controller, the replacement answers which controller method Cinder would
run and with which arguments. For the snapshot list (index / detail) it does run the controller, with
the two database queries (``SnapshotList.get_all`` / ``get_all_by_project``) replaced by recorders, so the
answer says whether Cinder's own code would list every project (``all_tenants`` as Cinder honours it). No
controller writes anything.

Every answer is wrapped by an observer around the whole pipeline: HTTP 200 with ``X-Evs-Oracle: 1`` and a
JSON body ``{"status": <Cinder's status>, "dispatched": {...} | null, "query": {...}, "environ": {...}}``.
A request the eventlet server itself refuses (bad request line, 414, ...) gets eventlet's own answer
without the header.

    /usr/bin/python3 scripts/cinder/oracle.py --config-file DIR/cinder.conf [--port N] [--log-file F]

Prints ``evs-authz cinder oracle listening on 127.0.0.1:PORT`` on stdout when ready. The database of the
configuration must be synced (scripts/cinder/setup.sh): building the router reads the services table.
Not for production; loopback only.
"""
import eventlet

eventlet.monkey_patch()
import __original_module_threading as orig_threading  # noqa: E402 pylint: disable=E0401
import threading  # noqa: E402

orig_threading.current_thread.__globals__['_active'] = threading._active

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402

from oslo_config import cfg  # noqa: E402
from oslo_log import log as logging  # noqa: E402
import webob  # noqa: E402
from webob import compat  # noqa: E402

from cinder import i18n  # noqa: E402

i18n.enable_lazy()
from cinder.common import config  # noqa: E402
from cinder import objects  # noqa: E402
from cinder import rpc  # noqa: E402
from cinder import service  # noqa: E402
from cinder.api.openstack import wsgi as cinder_wsgi  # noqa: E402

CONF = cfg.CONF
RECORD = 'evs_authz.oracle.record'
# Query parameters whose reading the differential test checks (as webob hands them to the controller).
WATCHED = ('all_tenants', 'all_projects', 'enterprise_project_id', '_method')


class Listed(Exception):
    """Raised by the recording list queries: the snapshot list got as far as the database."""

    def __init__(self, scope, project_id, search_opts):
        super().__init__(scope)
        self.scope = scope
        self.project_id = project_id
        self.search_opts = search_opts


def _record_get_all(cls, context, search_opts, *args, **kwargs):
    raise Listed('all-projects', None, search_opts)


def _record_get_all_by_project(cls, context, project_id, search_opts, *args, **kwargs):
    raise Listed('project', project_id, search_opts)


def query_facts(multidict, query_string):
    """What a controller reading ``req.GET`` sees of the watched parameters, and which raw text gave it."""
    facts = {'keys': sorted(set(str(k) for k in multidict.keys()))}
    for name in WATCHED:
        facts[name] = {'all': [str(v) for v in multidict.getall(name)], 'get': _text(multidict.get(name)),
                       'raw': _raw_segments(query_string or '', name)}
    return facts


def _raw_segments(query_string, name):
    """The raw query segments webob's own parser reads as ``name`` (to tell which text a fix must remove)."""
    found = []
    for s1 in query_string.split('&'):
        for segment in s1.split(';'):
            try:
                if any(k == name for k, _ in compat.parse_qsl_text(segment)):
                    found.append(segment)
            except Exception:
                continue
    return found


def _text(value):
    return None if value is None else str(value)


def _jsonable(value):
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return str(value)


def _method_key(method):
    """(controller, attribute name) behind ``method``: versioned methods hide both in version_select's closure."""
    code = getattr(method, '__code__', None)
    if getattr(method, '__name__', None) == 'version_select' and code is not None and 'key' in code.co_freevars:
        cells = dict(zip(code.co_freevars, method.__closure__))
        return cells['self'].cell_contents, cells['key'].cell_contents
    return getattr(method, '__self__', None), getattr(method, '__name__', str(method))


def _version_matches(owner, key, request):
    """Cinder's own microversion selection (Controller.__getattribute__): does any version of key match?"""
    versions = getattr(owner, 'versioned_methods', {}).get(key)
    if not versions:
        return True
    return any(request.api_version_request.matches_versioned_method(f) for f in versions)


def recording_dispatch(self, method, request, action_args):
    """Replaces Resource.dispatch: say what would run instead of running it."""
    environ = request.environ
    routing = dict(environ.get('wsgiorg.routing_args', (None, {}))[1] or {})
    routing.pop('controller', None)
    route = environ.get('routes.route')
    owner, key = _method_key(method)
    if owner is None:
        owner = self.controller
    record = {
        'resource': _class_name(self.controller),
        'controller': _class_name(owner),
        'action': routing.pop('action', None),
        'method': key,
        'args': _jsonable(routing),
        'body_keys': sorted(str(k) for k in action_args['body'].keys())
        if isinstance(action_args.get('body'), dict) else None,
        'route': {
            'path': getattr(route, 'routepath', None),
            'methods': _jsonable((getattr(route, 'conditions', None) or {}).get('method')),
        },
        'request_method': environ.get('REQUEST_METHOD'),
        'api_version': request.api_version_request.get_string(),
        'context': _context_facts(environ.get('cinder.context')),
        'query': query_facts(request.GET, environ.get('QUERY_STRING')),
        'list': None,
    }
    sink = environ.get(RECORD)
    if not _version_matches(owner, key, request):
        # Cinder answers 404 (Resource.dispatch): the method has no version for this microversion.
        record['version_mismatch'] = True
        if sink is not None:
            sink.append(record)
        return cinder_wsgi.Fault(webob.exc.HTTPNotFound())
    if key in ('index', 'detail') and record['controller'].endswith('.snapshots.SnapshotsController'):
        # The real controller up to the database: Cinder's own pagination, filters and all_tenants rule.
        try:
            method(req=request, **action_args)
            record['list'] = {'outcome': 'returned'}
        except Listed as listed:
            record['list'] = {'outcome': 'listed', 'scope': listed.scope, 'project_id': listed.project_id,
                              'search_opts': _jsonable(dict(listed.search_opts))}
        except Exception as error:  # Cinder would answer with this error (400 for a bad limit, ...)
            record['list'] = {'outcome': 'error', 'error': type(error).__name__, 'detail': str(error)[:200]}
    if sink is not None:
        sink.append(record)
    response = webob.Response(status=200, content_type='application/json')
    response.body = b'{"oracle": "dispatched"}'
    return response


def _class_name(obj):
    cls = obj if isinstance(obj, type) else type(obj)
    return '%s.%s' % (cls.__module__, cls.__qualname__)


def _context_facts(context):
    if context is None:
        return None
    return {'project_id': context.project_id, 'user_id': context.user_id, 'is_admin': bool(context.is_admin)}


class Observer(object):
    """Wraps the whole pipeline: passes the request through unchanged, then reports what happened."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        entry = {k: environ.get(k) for k in ('REQUEST_METHOD', 'RAW_PATH_INFO', 'PATH_INFO', 'QUERY_STRING')}
        # A copy: the observer's reading must not prime webob's cache for Cinder's own.
        try:
            query = query_facts(webob.Request(dict(environ)).GET, environ.get('QUERY_STRING'))
        except Exception as error:
            query = {'error': '%s: %s' % (type(error).__name__, str(error)[:200])}
        sink = []
        environ[RECORD] = sink
        seen = {}

        def capture(status, headers, exc_info=None):
            seen['status'] = status
            return lambda data: None

        try:
            chunks = self.app(environ, capture)
            try:
                for _ in chunks:
                    pass
            finally:
                close = getattr(chunks, 'close', None)
                if close is not None:
                    close()
            status = int(str(seen.get('status', '500')).split(' ', 1)[0])
        except Exception as error:  # eventlet would answer 500
            status = 500
            entry['error'] = '%s: %s' % (type(error).__name__, str(error)[:200])
        record = sink[-1] if sink else None
        if record is not None and (status != 200 or record.get('version_mismatch')):
            record['refused_after_dispatch'] = status
        body = json.dumps({'status': status, 'dispatched': record if status == 200 else None,
                           'refused': record if status != 200 else None,
                           'query': query, 'environ': entry}).encode()
        start_response('200 OK', [('Content-Type', 'application/json'), ('Content-Length', str(len(body))),
                                  ('X-Evs-Oracle', '1')])
        return [body]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
    parser.add_argument('--config-file', required=True)
    parser.add_argument('--port', type=int, default=0, help='port on 127.0.0.1 (0: any free port)')
    parser.add_argument('--log-file', default=None, help="Cinder's log (default: the configuration's, with .oracle)")
    args = parser.parse_args()

    objects.register_all()
    CONF(['--config-file', args.config_file], project='cinder')
    config.set_middleware_defaults()
    CONF.set_override('osapi_volume_listen', '127.0.0.1')
    CONF.set_override('osapi_volume_listen_port', args.port)
    CONF.set_override('log_file', args.log_file or ((CONF.log_file or '/tmp/cinder') + '.oracle'))
    CONF.set_override('debug', False)
    logging.setup(CONF, 'cinder')
    rpc.init(CONF)

    cinder_wsgi.Resource.dispatch = recording_dispatch
    objects.SnapshotList.get_all = classmethod(_record_get_all)
    objects.SnapshotList.get_all_by_project = classmethod(_record_get_all_by_project)

    api = service.WSGIService('osapi_volume')
    api.server.app = Observer(api.server.app)
    api.start()
    print('evs-authz cinder oracle listening on 127.0.0.1:%d' % api.server.port, flush=True)
    # WSGIService.wait() only waits for requests in flight; serve until SIGTERM / SIGINT.
    while True:
        eventlet.sleep(3600)


if __name__ == '__main__':
    sys.exit(main())
