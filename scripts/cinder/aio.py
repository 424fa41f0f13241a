#!/usr/bin/python3
"""All-in-one Cinder for tests: the real API, scheduler and volume manager in ONE process.

Only Debian's python3-cinder code runs here. The three services talk over oslo.messaging's in-process
``fake://`` transport; the volume manager uses the fake driver Debian ships with the tests
(``cinder.tests.fake_driver.FakeLoggingVolumeDriver``), so creates and deletes really complete.

    /usr/bin/python3 scripts/cinder/aio.py --config-file DIR/cinder.conf

Not for production: no Keystone, sqlite, loopback only (see setup.sh).
"""
import eventlet

eventlet.monkey_patch()
import __original_module_threading as orig_threading  # noqa: E402 pylint: disable=E0401
import threading  # noqa: E402

orig_threading.current_thread.__globals__['_active'] = threading._active

import logging as python_logging  # noqa: E402
import shlex  # noqa: E402
import sys  # noqa: E402

import os_brick  # noqa: E402
from oslo_config import cfg  # noqa: E402
from oslo_log import log as logging  # noqa: E402
from oslo_privsep import priv_context  # noqa: E402
from oslo_service import service as oslo_service  # noqa: E402

from cinder.common import config  # noqa: E402
from cinder.common import constants  # noqa: E402
from cinder import context  # noqa: E402
from cinder import coordination  # noqa: E402
from cinder import exception  # noqa: E402
from cinder import i18n  # noqa: E402

i18n.enable_lazy()
from cinder import objects  # noqa: E402
from cinder import rpc  # noqa: E402
from cinder import service  # noqa: E402
from cinder import utils  # noqa: E402
from cinder import version  # noqa: E402

CONF = cfg.CONF
LOG = logging.getLogger('cinder-aio')


class AioService(service.Service):
    """A service whose heartbeat updates its OWN row.

    ``Service.report_state`` reads the class attribute ``Service.service_id``, which holds the id of
    the service created last. With several services in one process only that row would get
    heartbeats; after ``service_down_time`` (60 s) the volume service looks down and every create
    fails with "No valid backend was found". Here each instance uses ``self.origin_service_id``.
    """

    def report_state(self):
        if not self.manager.is_working():
            LOG.error('Manager for %s %s reports problems; no heartbeat.', self.binary, self.host)
            return
        ctxt = context.get_admin_context()
        try:
            try:
                ref = objects.Service.get_by_id(ctxt, self.origin_service_id)
            except exception.NotFound:
                # The row disappeared: recreate it (this sets origin_service_id again).
                self._create_service_ref(ctxt)
                ref = objects.Service.get_by_id(ctxt, self.origin_service_id)
            ref.report_count += 1
            if self.availability_zone != ref.availability_zone:
                ref.availability_zone = self.availability_zone
            ref.save()
        except Exception:  # a failed heartbeat must not kill the timer thread
            LOG.exception('heartbeat of %s %s failed', self.binary, self.host)


def main():
    objects.register_all()
    CONF(sys.argv[1:], project='cinder', version=version.version_string())
    config.set_middleware_defaults()
    logging.setup(CONF, 'cinder')
    python_logging.captureWarnings(True)
    priv_context.init(root_helper=shlex.split(utils.get_root_helper()))
    utils.monkey_patch()
    os_brick.setup(CONF)
    if not CONF.enabled_backends:
        sys.exit('cinder-aio: enabled_backends is empty; setup.sh writes enabled_backends = fake')
    rpc.init(CONF)
    coordination.COORDINATOR.start()

    launcher = oslo_service.ServiceLauncher(CONF, restart_method='mutate')
    launcher.launch_service(AioService.create(binary=constants.SCHEDULER_BINARY))
    for backend in filter(None, CONF.enabled_backends):
        launcher.launch_service(AioService.create(
            host='%s@%s' % (CONF.host, backend), service_name=backend,
            binary=constants.VOLUME_BINARY, coordination=False))
    launcher.launch_service(service.WSGIService('osapi_volume'))
    LOG.info('cinder-aio: API on %s:%s, scheduler and volume (%s) running',
             CONF.osapi_volume_listen, CONF.osapi_volume_listen_port, ','.join(CONF.enabled_backends))
    try:
        launcher.wait()
    finally:
        coordination.COORDINATOR.stop()
        rpc.cleanup()


if __name__ == '__main__':
    main()
