# The wheel carries a compiled library (libCoresetC, copied in by build_wheel.sh): tag it for this
# platform rather than py3-none-any, so pip does not install it on a machine it cannot load on.
from setuptools import setup
from setuptools.dist import Distribution


class BinaryDistribution(Distribution):
    def has_ext_modules(self):
        return True


setup(distclass=BinaryDistribution)
