"""URL routing for moto's service framework (found through the backend's module name)."""

from .responses import DirectConnectEmulatorResponse

url_bases = [r"https?://directconnect\.(.+)\.amazonaws\.com"]

url_paths = {"{0}/$": DirectConnectEmulatorResponse.dispatch}
