// SPDX-License-Identifier: LGPL-2.1-or-later
// The hesp plugin: registers the elements, nothing else.
#include <gst/gst.h>

#include "clipbatch/gsthespclipbatch.h"
#include "facecrop/gsthespfacecrop.h"
#include "infer/gsthespinfer.h"
#include "klv/gsthespklvdecode.h"
#include "klv/gsthespklvencode.h"
#include "metaconvert/gsthespmetaconvert.h"
#include "metapublish/gsthespmetapublish.h"
#include "overlay/gsthespoverlay.h"

static gboolean plugin_init(GstPlugin* plugin) {
  gboolean ok = FALSE;
  ok |= GST_ELEMENT_REGISTER(hespfacecrop, plugin);
  ok |= GST_ELEMENT_REGISTER(hespclipbatch, plugin);
  ok |= GST_ELEMENT_REGISTER(hespinfer, plugin);
  ok |= GST_ELEMENT_REGISTER(hespoverlay, plugin);
  ok |= GST_ELEMENT_REGISTER(hespmetaconvert, plugin);
  ok |= GST_ELEMENT_REGISTER(hespmetapublish, plugin);
  ok |= GST_ELEMENT_REGISTER(hespklvencode, plugin);
  ok |= GST_ELEMENT_REGISTER(hespklvdecode, plugin);
  return ok;
}

GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, hesp,
                  "Open-set video facial expression recognition (HESP)", plugin_init, HESP_VERSION,
                  "LGPL", "hesp", "https://github.com/hesp-project/hesp")
