/** Importing this module registers every transport berth has. */
import './oci-layout/ociLayoutTransport.js';
import './oci-archive/ociArchiveTransport.js';
import './dir/dirTransport.js';
import './docker/register.js';
import './docker-archive/dockerArchiveTransport.js';
import './store/storeTransport.js';
