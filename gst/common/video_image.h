// SPDX-License-Identifier: LGPL-2.1-or-later
// GstVideoFrame -> hesp::ImageView, and the raw formats the analyzers accept.
#pragma once

#include <gst/video/video.h>

#include "hesp/image.h"

namespace hesp::gst {

// Caps string of every raw format hespfacecrop / hespclipbatch / hespinfer accept.
#define HESP_VIDEO_FORMATS "{ RGB, BGR, RGBA, BGRA, RGBx, BGRx, I420, NV12, GRAY8 }"

// False when the format is not one the core understands.
bool to_pixel_format(GstVideoFormat format, PixelFormat* out);

// A view of the mapped frame's planes (no copy); the frame must stay mapped while it is used.
ImageView image_view_of(const GstVideoFrame* frame);

}  // namespace hesp::gst
