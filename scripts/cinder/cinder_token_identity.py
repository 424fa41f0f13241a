"""Paste filter for setup.sh --isolated: a Keystone-less identity that still isolates projects.

Replaces keystonemiddleware's ``authtoken`` in Cinder's ``keystone`` pipelines. The token
``USER:PROJECT[:ROLE,ROLE...]`` (default roles ``member,reader``) becomes the X-User-Id /
X-Project-Id / X-Roles headers that Cinder's ``keystonecontext`` turns into a NON-admin request
context, so Cinder's own policies and per-project scoping apply (unlike ``noauth``, where every
token is admin). Client-sent identity headers are always removed first. Tests only: the token is
not a secret, whoever reaches this Cinder directly can be anyone.
"""
import json
import re

import webob
import webob.dec

# keystonemiddleware's identity headers (and their old aliases), as WSGI environ keys.
_IDENTITY = re.compile(
    r'^HTTP_(X_(IDENTITY_STATUS|SERVICE_IDENTITY_STATUS|ROLES?|SERVICE_ROLES|DOMAIN_(ID|NAME)|'
    r'PROJECT_(ID|NAME|DOMAIN_ID|DOMAIN_NAME)|USER(_ID|_NAME|_DOMAIN_ID|_DOMAIN_NAME)?|'
    r'TENANT(_ID|_NAME)?|IS_ADMIN_PROJECT|SERVICE_CATALOG|SERVICE_(PROJECT|USER)_(ID|NAME)|'
    r'SERVICE_(PROJECT|USER)_DOMAIN_(ID|NAME)|AUTH_USER|AUTH_PROJECT_ID|SYSTEM_SCOPE)|OPENSTACK_SYSTEM_SCOPE)$')
_PROJECT = re.compile(r'^[0-9a-f-]+$')
_NAME = re.compile(r'^[A-Za-z0-9_.@-]{1,255}$')


def _unauthorized():
    body = {'error': {'code': 401, 'title': 'Unauthorized',
                      'message': 'The request you have made requires authentication.'}}
    return webob.Response(status=401, content_type='application/json', charset='UTF-8',
                          body=json.dumps(body).encode(), headerlist=[('WWW-Authenticate', 'Keystone')])


class TokenIdentity(object):
    def __init__(self, application):
        self.application = application

    @classmethod
    def factory(cls, global_config, **local_config):
        return cls

    @webob.dec.wsgify
    def __call__(self, req):
        for key in [k for k in req.environ if _IDENTITY.match(k)]:
            del req.environ[key]
        parts = req.headers.get('X-Auth-Token', '').split(':')
        if len(parts) not in (2, 3) or not _NAME.match(parts[0]) or not _PROJECT.match(parts[1]):
            return _unauthorized()
        roles = parts[2].split(',') if len(parts) == 3 else ['member', 'reader']
        if not all(_NAME.match(r) for r in roles):
            return _unauthorized()
        req.environ.update({
            'HTTP_X_IDENTITY_STATUS': 'Confirmed',
            'HTTP_X_USER_ID': parts[0],
            'HTTP_X_USER_DOMAIN_ID': 'default',
            'HTTP_X_PROJECT_ID': parts[1],
            'HTTP_X_PROJECT_DOMAIN_ID': 'default',
            'HTTP_X_ROLES': ','.join(roles),
            'HTTP_X_IS_ADMIN_PROJECT': 'True',  # keystone's answer when no admin project is configured
        })
        return self.application
