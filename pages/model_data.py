"""Model & data: pick the frozen base model and the data, preview the images, list adaptable layers."""

from __future__ import annotations

import functools

import streamlit as st

from app import resources, session, uploads, views
from app.strings import STRINGS, domain_name
from app.ui import choice, guard, lang, multiselect, page_title, selectbox, show_caption, table, technical, tr
from metalora.data import BUILTIN_DATASETS, DEFAULT_DEMO_DOMAINS, DOMAINS, DataSpec, preview_grid
from metalora.models import get_architecture, list_architectures
from metalora.models.zoo import available_zoo_models

page_title("page_model_data")
left, right = st.columns(2)

with left:
    st.header(tr("model_header"))
    source = choice("model_source", ["sample", "zoo", "upload"], "source_", horizontal=True)
    if source == "sample":
        names = resources.sample_model_names()
        if not names:
            st.warning(tr("no_sample_models"))
        else:
            default = resources.demo_model_name()
            name = selectbox(tr("sample_model"), names, index=names.index(default) if default in names else 0)
            if st.button(tr("use_model"), key="use_sample"):
                with guard():
                    _, card = resources.sample_model(name)
                    session.set_model(session.ModelChoice(label=name, sample=name, card=card))
    elif source == "zoo":
        names = available_zoo_models()
        if not names:
            st.warning(tr("no_zoo"))
        else:
            name = selectbox(tr("zoo_model"), names, key="zoo_name")
            st.caption(tr("zoo_explain"))
            with technical():
                size = st.select_slider(tr("zoo_size"), [32, 64, 128, 224], value=224, key="zoo_size")
            weights = st.file_uploader(
                tr("upload_weights_optional"), type=list(uploads.WEIGHT_TYPES), key="zoo_weights"
            )
            if st.button(tr("use_model"), key="use_zoo"):
                with guard(), st.spinner(tr("computing")):
                    session.set_model(uploads.zoo_model(name, weights, image_size=int(size)))
    else:
        arch = selectbox(tr("architecture"), list_architectures())
        spec = get_architecture(arch)
        # the library's own architectures are described in the user's language; one registered elsewhere as
        # its author wrote it
        st.caption(tr(f"arch_{arch}") if f"arch_{arch}" in STRINGS else spec.description)
        with technical():
            channels = selectbox(
                tr("channels"), [1, 3], index=[1, 3].index(spec.defaults.get("in_channels", 3))
            )
            classes = st.number_input(tr("classes"), 2, 1000, int(spec.defaults.get("num_classes", 10)))
        weights = st.file_uploader(tr("upload_weights"), type=list(uploads.WEIGHT_TYPES), key="weights_file")
        if weights is not None and st.button(tr("use_model"), key="use_upload"):
            with guard():
                session.set_model(
                    uploads.model_from_upload(weights, arch, in_channels=channels, num_classes=int(classes))
                )

with right:
    st.header(tr("data_header"))
    source = choice("data_source", ["builtin", "upload", "disk"], "source_", horizontal=True)
    if source == "builtin":
        name = choice("builtin_data", list(BUILTIN_DATASETS), "data_", widget=selectbox)
        domains = multiselect(
            tr("domains"),
            list(DOMAINS),
            default=list(DEFAULT_DEMO_DOMAINS),
            format_func=functools.partial(domain_name, lang=lang()),
            key=f"domains_{lang()}",  # a fresh widget per language: its options are shown translated
        )
        with technical():
            size = st.select_slider(tr("image_size"), [16, 24, 32, 48, 64], value=32)
        if st.button(tr("use_data"), key="use_builtin"):
            with guard():
                spec = DataSpec(name=name, domains=tuple(domains or ["clean"]), image_size=int(size))
                session.set_data(session.DataChoice.builtin(spec, resources.builtin_data(spec)))
    elif source == "upload":
        st.caption(tr("upload_data_help"))
        upload = st.file_uploader(tr("upload_data"), type=list(uploads.DATA_TYPES), key="data_file")
        if upload is not None and st.button(tr("use_data"), key="use_upload_data"):
            with guard():
                session.set_data(uploads.data_from_upload(upload))
    else:
        st.caption(tr("disk_data_help"))
        text = st.text_input(tr("disk_data"), placeholder="folder:/path/to/images", key="disk_source")
        with technical():
            size = st.select_slider(
                tr("image_size"), [16, 24, 32, 48, 64, 96, 128, 224], value=32, key="disk_size"
            )
            augment = st.checkbox(tr("augment"), key="disk_augment")
        if text and st.button(tr("use_data"), key="use_disk"):
            with guard(), st.spinner(tr("computing")):
                session.set_data(uploads.data_from_source(text, image_size=int(size), augment=augment))

model, data = session.model_choice(), session.data_choice()
st.divider()
c1, c2 = st.columns(2)
c1.metric(tr("model_in_use"), model.label if model else tr("nothing_yet"))
c2.metric(tr("data_in_use"), data.display(lang()) if data else tr("nothing_yet"))

if data is not None:
    st.subheader(tr("preview_header"))
    with guard():
        sheet, rows, cols = preview_grid(data.splits.train, per_cell=1)
        st.image(sheet, width=min(1000, sheet.shape[1] * 4))
        show_caption("caption_preview", rows=", ".join(domain_name(r, lang()) for r in rows))
        table(views.split_rows(data.splits, lang()), width="content")

if model is not None:
    st.subheader(tr("layers_header"))
    with guard():
        table(views.layer_rows(model.frozen(), lang()))
        show_caption("caption_layers")
