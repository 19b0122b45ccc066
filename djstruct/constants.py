"""Every rate, hop and frame rate djstruct uses, in one place.

Detectors decode at :data:`ANALYSIS_RATE_HZ`. The ``dsp`` detector's frame features and the model's
log-mel frontend each have their own STFT hop (and so frame rate); both reduce their energy curves to
about 10.8 Hz. Changing a ``MODEL_*`` constant changes the frontend id and so invalidates cached
training features; changing a ``DSP_*`` constant changes ``dsp`` results.
"""

from __future__ import annotations

ANALYSIS_RATE_HZ = 22050  # every detector (and the training features) works on mono audio at this rate
SYNTH_RATE_HZ = 44100  # the synthetic renderers' output rate (stereo)

# Energy bands (Energy.bass / mid / high): bass < 150 Hz, mid 150-2500 Hz, high > 2500 Hz.
BAND_EDGES_HZ = (150.0, 2500.0)
KICK_BAND_HZ = 200.0  # the dsp detector's low-band onset flux (kick drum) sums the bins below this

# dsp detector frame features (djstruct.detect.features)
DSP_N_FFT = 1024
DSP_HOP = 256
DSP_N_MELS = 64
DSP_FMAX_HZ = 11000.0
DSP_FPS = ANALYSIS_RATE_HZ / DSP_HOP  # 86.13 frames per second
DSP_ENERGY_DECIMATE = 8  # energy at 86.13 / 8 = 10.8 Hz

# model log-mel frontend (djstruct.model.frontend)
MODEL_N_FFT = 1024
MODEL_HOP = 512
MODEL_N_MELS = 80
MODEL_FMIN_HZ = 30.0
MODEL_FMAX_HZ = 11000.0
MODEL_FPS = ANALYSIS_RATE_HZ / MODEL_HOP  # 43.07 frames per second
MODEL_ENERGY_DECIMATE = 4  # energy at 43.07 / 4 = 10.8 Hz

# encoder delays (samples at the file's own rate) that decoders leave in unless a header says otherwise
MP3_NO_XING_DELAY_SAMPLES = 529 + 576  # mpg123/MAD decoder delay + LAME encoder delay
AAC_PRIMING_SAMPLES = 1024  # AAC priming left in by ffmpeg when the MP4 declares none

MAX_DURATION_S = 1800.0  # default refusal limit for one track (a longer file is a DJ mix)
