"""Every text the dashboard shows, in English and Japanese. Pages look strings up by key.

Lookups go through :func:`metalora.i18n.text`, the one rule of every string table of the project: a
missing key or language raises ``KeyError``. Texts with ``{name}`` fields are formatted by
:func:`app.ui.tr`. Add a key here, in both languages, before using it; the tests check that every entry
has both with the same fields, that every key the code can build exists, and that every key is used.

The file is longer than most (about 550 lines) on purpose: it is one table, and every text of the
dashboard stays in it so a translator reads both languages side by side in one place.
"""

from __future__ import annotations

from metalora.i18n import DOMAIN_NAMES, LANGUAGES, display_name, domain_name, text

__all__ = [
    "DOMAIN_NAMES",
    "LANGUAGES",
    "LAYER_TYPES",
    "SPLIT_NAMES",
    "STRINGS",
    "display_name",
    "domain_name",
    "t",
]

S = dict  # shorter entries below: S(en=..., ja=...)

STRINGS: dict[str, dict[str, str]] = {
    # -- the frame ---------------------------------------------------------------------------------
    "language": S(en="Language", ja="言語"),
    "meeting_mode": S(en="Meeting mode", ja="会議モード"),
    "meeting_help": S(
        en="Larger text, technical settings folded away, and every chart explained in one sentence.",
        ja="文字を大きくし、技術的な設定を畳み、すべてのグラフを一文で説明します。",
    ),
    "technical_settings": S(en="Technical settings", ja="技術的な設定"),
    "page_home": S(en="Home", ja="ホーム"),
    "page_model_data": S(en="Model & data", ja="モデルとデータ"),
    "page_train": S(en="Train", ja="学習"),
    "page_scaling": S(en="Scaling factors", ja="スケーリング係数"),
    "page_ranks": S(en="Tensor ranks", ja="テンソルランク"),
    "page_clusters": S(en="Adaptation clusters", ja="適応のクラスター"),
    "page_accuracy": S(en="Accuracy & cost", ja="正解率とコスト"),
    "page_runs": S(en="Runs", ja="実行履歴"),
    "error_generic": S(
        en="Something went wrong on our side. Please try again; if it happens again, reload the page.",
        ja="内部で問題が発生しました。もう一度お試しください。繰り返す場合はページを再読み込みしてください。",
    ),
    "error_unexpected": S(
        en="Unexpected error ({detail}). Try again or reload the page; the details are in the log.",
        ja="予期しないエラーです（{detail}）。もう一度試すか、ページを再読み込みしてください。詳細はログにあります。",
    ),
    "nothing_yet": S(en="nothing yet", ja="未選択"),
    "need_runs": S(
        en="No trained run yet. Press “Run the demo” on Home, or train one on the Train page.",
        ja="学習済みの実行がまだありません。ホームの「デモを実行」を押すか、「学習」ページで学習してください。",
    ),
    "need_scaling_runs": S(
        en="This view needs a run with a CP or Tensor-Ring adapter (for example MetaLoRA-TR); plain LoRA has no scaling factors.",
        ja="この画面には CP またはテンソルリングのアダプター（例：MetaLoRA-TR）の実行が必要です。通常の LoRA にはスケーリング係数がありません。",
    ),
    "need_adapters_runs": S(
        en="This view needs a run with low-rank adapters (LoRA, CP, Tensor Ring or MetaLoRA).",
        ja="この画面には、低ランクアダプター（LoRA、CP、テンソルリング、MetaLoRA）を使った実行が必要です。",
    ),
    "pick_run": S(en="Run", ja="実行"),
    "all_runs": S(en="All recorded runs", ja="記録されたすべての実行"),
    "all_runs_help": S(
        en="Off: the runs of this session. On: every run recorded on this computer — other sessions', "
        "the command line's, and those from before a restart.",
        ja="オフ：このセッションの実行。オン：このコンピューターに記録されたすべての実行（他のセッション、"
        "コマンドライン、再起動前のものを含む）。",
    ),
    "need_runs_recorded": S(
        en="This session has no run yet, but {n} run(s) are recorded. Switch on “All recorded runs” to see them, "
        "or run the demo on Home.",
        ja="このセッションにはまだ実行がありませんが、{n} 件の実行が記録されています。"
        "「記録されたすべての実行」をオンにすると表示されます。ホームでデモを実行することもできます。",
    ),
    "rebuilding": S(en="Loading the run from its folder…", ja="実行をフォルダーから読み込み中…"),
    "status_completed": S(en="completed", ja="完了"),
    "status_failed": S(en="failed", ja="失敗"),
    "status_running": S(en="training now", ja="学習中"),
    "status_interrupted": S(en="interrupted (its process stopped)", ja="中断（処理が止まりました）"),
    # -- home -----------------------------------------------------------------------------------------
    "home_title": S(en="One adapter that adapts to each input", ja="入力ごとに変わる、ひとつのアダプター"),
    "home_what_1": S(
        en="A pre-trained model is kept frozen; MetaLoRA adds a small, cheap add-on (an adapter) to its layers.",
        ja="学習済みモデルはそのまま固定し、MetaLoRA はその各層に小さく軽い追加部品（アダプター）を付けます。",
    ),
    "home_what_2": S(
        en="Unlike ordinary LoRA, the add-on looks at each input first and tunes itself to it.",
        ja="通常の LoRA と違い、この追加部品は入力をまず見て、その入力に合わせて自分を調整します。",
    ),
    "home_what_3": S(
        en="So one adapter handles different kinds of input — clean, inverted, rotated images — each in its own way.",
        ja="そのため、きれいな画像・反転画像・回転画像など、種類の違う入力をひとつのアダプターがそれぞれに合った形で扱えます。",
    ),
    "pipeline_caption": S(
        en="How an input flows: a frozen feature extractor reads it, a small network turns what it sees into "
        "scaling factors, and the scaling factors set the low-rank update of every adapted layer. In the demo "
        "the extractor is a few plain measurements of the image (its brightness, its contrast and a tiny "
        "thumbnail), which show at once whether a digit is inverted, rotated or mirrored.",
        ja="入力の流れ：固定された特徴抽出器が入力を読み取り、小さなネットワークがそれを「スケーリング係数」に変え、"
        "スケーリング係数が各層の低ランク更新を決めます。デモの特徴抽出器は、画像の簡単な測定値（明るさ、"
        "コントラスト、小さな縮小画像）で、数字が反転・回転・鏡像になっているかがすぐに分かります。",
    ),
    "node_input": S(en="Input image", ja="入力画像"),
    "node_features": S(en="Frozen feature extractor", ja="固定された特徴抽出器"),
    "node_mapping": S(en="Mapping network", ja="写像ネットワーク"),
    "node_scaling": S(en="Scaling factors (per input)", ja="スケーリング係数（入力ごと）"),
    "node_update": S(en="CP / Tensor-Ring update of each layer", ja="各層の CP / テンソルリング更新"),
    "node_output": S(en="Prediction", ja="予測"),
    "demo_header": S(en="See it in action", ja="実際に動かしてみる"),
    "demo_here": S(
        en="On this computer the last demo took {s} seconds of training.",
        ja="このコンピューターでは、前回のデモの学習に {s} 秒かかりました。",
    ),
    "demo_explain": S(
        en="The demo takes a small pre-trained model and handwritten digits shown in four ways (clean, inverted, "
        "rotated, mirrored), then trains ordinary LoRA and MetaLoRA side by side, each with the same budget of "
        "trainable parameters. On a laptop with 2 processor cores it takes about {warm} seconds, {cold} as the "
        "first demo after the dashboard starts, and longer while the computer is busy.",
        ja="デモでは、小さな学習済みモデルと、4 通り（そのまま・反転・回転・鏡像）に変えた手書き数字を使い、"
        "通常の LoRA と MetaLoRA を、学習するパラメーター数を同じにして並べて学習します。"
        "2 コアのノートパソコンで約 {warm} 秒（ダッシュボード起動後の最初のデモは約 {cold} 秒）かかります。"
        "コンピューターが混んでいるときは、もっとかかります。",
    ),
    "demo_budget": S(
        en="Both adapters train about {n} parameters ({details}), so the comparison is fair.",
        ja="どちらのアダプターも約 {n} 個のパラメーターを学習します（{details}）。そのため公平な比較です。",
    ),
    "demo_budget_item": S(en="{method}: {n}", ja="{method}：{n}"),
    "demo_budget_sep": S(en=", ", ja="、"),
    "feature_source": S(en="What MetaLoRA looks at", ja="MetaLoRA が見るもの"),
    "feature_source_help": S(
        en="What the small network that sets the scaling factors reads from each image. Plain LoRA does not "
        "look at the input, so this changes nothing for it.",
        ja="スケーリング係数を決める小さなネットワークが、各画像から何を読み取るかです。通常の LoRA は入力を見ないので、"
        "影響はありません。",
    ),
    "source_backbone": S(
        en="The frozen model's own features (the paper's choice)", ja="固定モデル自身の特徴（論文の方法）"
    ),
    "source_input-stats": S(
        en="Simple image measurements: brightness, contrast, a tiny thumbnail (the demo's choice)",
        ja="画像の簡単な測定値：明るさ、コントラスト、小さな縮小画像（デモの方法）",
    ),
    "demo_button": S(en="Run the demo", ja="デモを実行"),
    "demo_next": S(en="Where to look next", ja="次に見るところ"),
    "next_scaling": S(
        en="How each input sets its own adapter: the scaling factors, per image and per layer.",
        ja="入力ごとにアダプターがどう決まるか：画像ごと・層ごとのスケーリング係数。",
    ),
    "next_ranks": S(
        en="How much of the adapter's capacity is really used.",
        ja="アダプターの容量が実際にどれだけ使われているか。",
    ),
    "next_clusters": S(
        en="Whether the adapter tells the four kinds of input apart on its own.",
        ja="アダプターが 4 種類の入力を自分で見分けているか。",
    ),
    "next_accuracy": S(
        en="Which method is more accurate, and what it costs.",
        ja="どの方法がより正確で、そのコストはどれだけか。",
    ),
    "next_runs": S(
        en="Download the adapters and a report to send after the meeting.",
        ja="アダプターと、会議後に送れるレポートのダウンロード。",
    ),
    # -- training job ---------------------------------------------------------------------------------
    "job_waiting": S(
        en="Another training is using this computer's processor; this one starts as soon as it is free.",
        ja="別の学習がこのコンピューターのプロセッサーを使用中です。空きしだい、この学習が始まります。",
    ),
    "job_queued": S(
        en="Waiting for the processor: you are {place} in line (the training running now is 1st). Yours "
        "starts by itself when its turn comes; “Cancel training” takes it out of the line.",
        ja="プロセッサーの空き待ちです。あなたは {place} 番目です（実行中の学習が 1 番目）。順番が来ると"
        "自動的に始まります。「学習を中止」で列から外れます。",
    ),
    "job_time_left": S(en=" · {left} left", ja="・残り{left}"),
    "few_seconds": S(en="a few seconds", ja="数秒"),
    "about_seconds": S(en="about {n} s", ja="約 {n} 秒"),
    "about_minutes": S(en="about {n} min", ja="約 {n} 分"),
    "job_running": S(en="Training run {i} of {n}: {name}", ja="学習中 {i} / {n}：{name}"),
    "job_done": S(
        en="Training finished: {n} new run(s). Open the views in the menu to see what they learned.",
        ja="学習が終わりました（新しい実行 {n} 件）。メニューの各画面で、学習した内容を見られます。",
    ),
    "job_cancelled": S(
        en="Training was cancelled. Runs that had finished are kept.",
        ja="学習を中止しました。完了済みの実行は残っています。",
    ),
    "cancel": S(en="Cancel training", ja="学習を中止"),
    "loss": S(en="loss", ja="損失"),
    "accuracy": S(en="accuracy", ja="正解率"),
    "epoch": S(en="epoch", ja="エポック"),
    "caption_curves": S(
        en="The loss (solid) should fall and the accuracy (dotted) rise as the adapter learns.",
        ja="アダプターが学習するにつれ、損失（実線）は下がり、正解率（点線）は上がるはずです。",
    ),
    # -- model & data -----------------------------------------------------------------------------------
    "model_header": S(en="Frozen model", ja="固定するモデル"),
    "model_source": S(en="Where the model comes from", ja="モデルの入手元"),
    "source_sample": S(en="Sample model", ja="サンプルモデル"),
    "source_upload": S(en="Upload a file", ja="ファイルをアップロード"),
    "source_zoo": S(en="torchvision / timm", ja="torchvision / timm"),
    "zoo_model": S(en="Backbone", ja="バックボーン"),
    "zoo_explain": S(
        en="A real backbone: random weights, or upload its own. It gets a new head for your data's classes, "
        "trained in full; images are resized to the size it reads.",
        ja="実際のバックボーンです。重みはランダム、または自分の重みをアップロードできます。データのクラス数に合わせた"
        "新しい出力層が付き、全体が学習されます。画像はモデルが読むサイズに変換されます。",
    ),
    "zoo_size": S(
        en="Image size the model reads (224 = its own; smaller is faster on a CPU)",
        ja="モデルが読む画像サイズ（224 = 本来のサイズ、小さいほど CPU で速い）",
    ),
    "no_zoo": S(
        en="torchvision and timm are not installed. `make app` installs them (pip install -e .[zoo]).",
        ja="torchvision と timm がインストールされていません。`make app` でインストールされます（pip install -e .[zoo]）。",
    ),
    "upload_weights_optional": S(
        en="Its weights (optional: `.safetensors`, or a `.pt` of the weights only, a `state_dict`)",
        ja="その重み（任意：`.safetensors`、または重みだけを保存した `.pt`（`state_dict`））",
    ),
    "source_builtin": S(en="Built-in data", ja="組み込みデータ"),
    "source_disk": S(en="Images on this computer", ja="このコンピューター上の画像"),
    "disk_data_help": S(
        en="Large image sets are read from disk while training, never all at once: `folder:PATH` (one folder per "
        "class), `cifar:PATH` (CIFAR binary batches) or `npz:PATH` (an uncompressed `.npz`).",
        ja="大きな画像セットは学習中にディスクから少しずつ読み込みます（一度に全部は読みません）。`folder:パス`（クラスごとのフォルダー）、"
        "`cifar:パス`（CIFAR のバイナリ）、`npz:パス`（非圧縮の `.npz`）。",
    ),
    "disk_data": S(en="Where the images are", ja="画像の場所"),
    "augment": S(en="Random crops and flips while training", ja="学習中にランダムな切り抜きと反転を加える"),
    "no_sample_models": S(
        en="No sample model is installed. Run `make sample-models`, or upload weights.",
        ja="サンプルモデルがありません。`make sample-models` を実行するか、重みをアップロードしてください。",
    ),
    "sample_model": S(en="Sample model", ja="サンプルモデル"),
    "use_model": S(en="Use this model", ja="このモデルを使う"),
    "architecture": S(en="Architecture", ja="アーキテクチャ"),
    "arch_resnet-mini": S(
        en="CIFAR-style ResNet, 3 stages of 1 BasicBlock (16/32/64 channels), ~78k parameters.",
        ja="小さな画像向けの ResNet：3 つのステージに基本ブロックが 1 個ずつ（16/32/64 チャンネル）、約 7.8 万パラメーター。",
    ),
    "arch_mixer-mini": S(
        en="MLP-Mixer, 4x4 patches, 4 blocks of width 64, ~100k parameters.",
        ja="MLP-Mixer：4×4 のパッチ、幅 64 のブロックが 4 個、約 10 万パラメーター。",
    ),
    "arch_vit-mini": S(
        en="Vision Transformer, 4x4 patches, 4 blocks of width 64 with 4 heads, ~140k parameters.",
        ja="ViT（ビジョン・トランスフォーマー）：4×4 のパッチ、幅 64・ヘッド 4 のブロックが 4 個、約 14 万パラメーター。",
    ),
    "channels": S(en="Colour channels (1 = grey, 3 = colour)", ja="色チャンネル数（1 = 白黒、3 = カラー）"),
    "classes": S(en="Number of classes", ja="クラス数"),
    "upload_weights": S(
        en="Weights (`.safetensors`, or a `.pt` of the weights only, a `state_dict`)",
        ja="重み（`.safetensors`、または重みだけを保存した `.pt`（`state_dict`））",
    ),
    "data_header": S(en="Data", ja="データ"),
    "data_source": S(en="Where the data comes from", ja="データの入手元"),
    "builtin_data": S(en="Data set", ja="データセット"),
    "data_digits": S(en="Handwritten digits", ja="手書き数字"),
    "data_shapes": S(en="Colour shapes", ja="カラーの図形"),
    "domains": S(en="Kinds of input (domain shifts)", ja="入力の種類（ドメインシフト）"),
    "image_size": S(en="Image size (pixels)", ja="画像サイズ（ピクセル）"),
    "use_data": S(en="Use this data", ja="このデータを使う"),
    "upload_data_help": S(
        en="A `.npz` with arrays `x` and `y`, a `.csv` with a label column and one column per pixel, "
        "or a `.zip` with one folder per class.",
        ja="配列 `x` と `y` を含む `.npz`、ラベル列と画素ごとの列を持つ `.csv`、またはクラスごとのフォルダーを含む `.zip`。",
    ),
    "upload_data": S(en="Data file", ja="データファイル"),
    "model_in_use": S(en="Model in use", ja="使用中のモデル"),
    "data_in_use": S(en="Data in use", ja="使用中のデータ"),
    "preview_header": S(en="What the images look like", ja="画像の例"),
    "caption_preview": S(
        en="One example per class (columns) and per kind of input (rows: {rows}); the adapter must handle all of them.",
        ja="クラスごと（列）・入力の種類ごと（行：{rows}）に 1 枚ずつの例です。アダプターはこれらすべてに対応する必要があります。",
    ),
    "layers_header": S(en="Layers an adapter can be added to", ja="アダプターを付けられる層"),
    "layer": S(en="Layer", ja="層"),
    "layer_code_help": S(en="Its name in the code: {code}", ja="コード上の名前：{code}"),
    "caption_layers": S(
        en="Every convolution and linear layer of the frozen model; each one can get its own small adapter.",
        ja="固定モデルのすべての畳み込み層と全結合層です。それぞれに小さなアダプターを付けられます。",
    ),
    # -- train ----------------------------------------------------------------------------------------
    "train_need_choice": S(
        en="First pick a model and data on the “Model & data” page (or run the demo on Home).",
        ja="まず「モデルとデータ」ページでモデルとデータを選んでください（またはホームでデモを実行）。",
    ),
    "train_using": S(
        en="Model: **{model}** · Data: **{data}**", ja="モデル：**{model}**・データ：**{data}**"
    ),
    "method": S(en="Method", ja="手法"),
    "rank": S(en="Rank (size of the adapter)", ja="ランク（アダプターの大きさ）"),
    "rank_help": S(
        en="More rank = a bigger, more flexible adapter with more parameters to train.",
        ja="ランクが大きいほど、アダプターは大きく柔軟になり、学習するパラメーターも増えます。",
    ),
    "epochs": S(en="Epochs (passes over the data)", ja="エポック数（データを通す回数）"),
    "target_layers": S(en="Layers to adapt", ja="適応させる層"),
    "all_layers": S(en="All layers", ja="すべての層"),
    "targets_help": S(
        en="Leave empty to adapt every layer.", ja="空のままにすると、すべての層を適応させます。"
    ),
    "learning_rate": S(en="Learning rate", ja="学習率"),
    "repeat": S(en="Repeat #", ja="繰り返し #"),
    "repeat_help": S(
        en="Train the same settings again with another repeat # to see how much the result varies by chance.",
        ja="同じ設定で繰り返し # を変えて学習し直すと、結果が偶然でどれだけ変わるかがわかります。",
    ),
    "device": S(en="Device", ja="デバイス"),
    "device_auto": S(en="Automatic (the fastest available)", ja="自動（使える中で最速）"),
    "device_cpu": S(en="CPU (the processor)", ja="CPU（プロセッサー）"),
    "device_cuda": S(en="GPU: {name}, {memory} GB", ja="GPU：{name}（{memory} GB）"),
    "device_mps": S(en="Apple GPU (MPS)", ja="Apple GPU（MPS）"),
    "run_label": S(
        en="{method} · rank {rank} · repeat #{repeat}", ja="{method}・ランク {rank}・繰り返し #{repeat}"
    ),
    "run_label_unranked": S(en="{method} · repeat #{repeat}", ja="{method}・繰り返し #{repeat}"),
    "start_training": S(en="Start training", ja="学習を開始"),
    # -- analysis views ------------------------------------------------------------------------------
    "computing": S(en="Computing…", ja="計算中…"),
    "scaling_layer_header": S(
        en="One layer in detail: every input's scaling factors",
        ja="1 つの層の詳細：入力ごとのスケーリング係数",
    ),
    "ranks_details": S(
        en="Layer by layer: error against rank, and the strength of each direction",
        ja="層ごとの詳細：ランクと誤差、各方向の強さ",
    ),
    "clusters_details": S(
        en="The scores, and how the map is coloured",
        ja="スコアと、地図の色分け",
    ),
    "runs_table_header": S(en="Every run shown", ja="表示中のすべての実行"),
    "scaling_intro": S(
        en="MetaLoRA turns every input into a short list of numbers, its *scaling factors*, for every adapted "
        "layer. They scale the adapter's building blocks, so different scaling factors mean a different adapter.",
        ja="MetaLoRA は、入力ごと・適応させた層ごとに短い数値の列（*スケーリング係数*）を作ります。"
        "スケーリング係数はアダプターの部品の大きさを決めるので、係数が違えばアダプターも違います。",
    ),
    "scaling_heatmap_header": S(en="The scaling factors of many inputs", ja="多数の入力のスケーリング係数"),
    "scaling_dist_header": S(en="Scaling factors by kind of input", ja="入力の種類ごとのスケーリング係数"),
    "group_by": S(en="Group by", ja="グループ分け"),
    "by_domain": S(en="Kind of input", ja="入力の種類"),
    "by_class": S(en="Class", ja="クラス"),
    "scaling_input_header": S(en="One input, or two side by side", ja="1 つの入力、または 2 つを並べて"),
    "input_a": S(en="Input A", ja="入力 A"),
    "input_b": S(en="Input B", ja="入力 B"),
    "compare_two": S(en="Compare with a second input", ja="2 つ目の入力と比べる"),
    "input_label": S(en="Input {k}", ja="入力 {k}"),
    "scaling_distance": S(en="How different their scaling factors are", ja="スケーリング係数の違いの大きさ"),
    "caption_distance": S(
        en="0 means both inputs get exactly the same adapter; the larger the number, the more differently they are treated.",
        ja="0 は 2 つの入力がまったく同じアダプターを受け取ることを意味します。数値が大きいほど、扱いが異なります。",
    ),
    "ranks_intro": S(
        en="An adapter of rank r has room for r independent directions of change. Here we measure how many "
        "of them each layer's change really uses, across inputs.",
        ja="ランク r のアダプターには、r 個の独立した変化の方向があります。ここでは、各層の変化が入力全体で実際にいくつ使っているかを測ります。",
    ),
    "layers_to_analyse": S(en="Layers to analyse", ja="分析する層"),
    "pick_a_layer": S(en="Pick at least one layer.", ja="少なくとも 1 つの層を選んでください。"),
    "rank_curves_header": S(en="Error against rank", ja="ランクと誤差"),
    "effective_rank_header": S(en="Effective ranks", ja="実効ランク"),
    "spectra_header": S(en="Strength of each direction", ja="各方向の強さ"),
    "clusters_intro": S(
        en="The adapter is never told which kind of input it sees. If its scaling factors still fall into groups that match "
        "the kinds of input, it has learned to tell them apart on its own.",
        ja="アダプターには、どの種類の入力かは一切教えていません。それでもスケーリング係数が入力の種類どおりにまとまるなら、自分で見分けることを学んだということです。",
    ),
    "ari": S(en="Agreement with the kinds of input (ARI)", ja="入力の種類との一致度（ARI）"),
    "nmi": S(en="Shared information (NMI)", ja="共有情報量（NMI）"),
    "reading_strong": S(
        en="Strong agreement (ARI {ari}, NMI {nmi}; 1 = perfect): the adapter separates the kinds of input on its "
        "own, without being told them.",
        ja="強い一致（ARI {ari}、NMI {nmi}。1 = 完全）：アダプターは教えられなくても入力の種類を自分で見分けています。",
    ),
    "reading_partial": S(
        en="Partial agreement (ARI {ari}, NMI {nmi}; 1 = perfect, 0 = chance): the adapter treats some kinds of "
        "input differently, but its groups mix others.",
        ja="部分的な一致（ARI {ari}、NMI {nmi}。1 = 完全、0 = 偶然と同じ）：アダプターは一部の入力の種類を区別していますが、"
        "混ざっている種類もあります。",
    ),
    "reading_weak": S(
        en="Weak agreement (ARI {ari}, NMI {nmi}; 0 = chance): the adapter's groups do not follow the kinds of "
        "input; on these inputs it treats them mostly alike.",
        ja="弱い一致（ARI {ari}、NMI {nmi}。0 = 偶然と同じ）：アダプターのグループは入力の種類に沿っていません。"
        "これらの入力では、種類をほぼ同じように扱っています。",
    ),
    "upload_button": S(en="Upload", ja="アップロード"),
    "upload_limit": S(en="up to {mb} MB per file", ja="1 ファイル {mb} MB まで"),
    "placeholder_one": S(en="Choose an option", ja="選択してください"),
    "placeholder_many": S(en="Choose options", ja="選択してください（複数可）"),
    "kinds_own_one": S(
        en="{kinds} inputs get a group of their own", ja="{kinds}の入力は独自のグループにまとまっています"
    ),
    "kinds_own_many": S(
        en="{kinds} inputs each get a group of their own",
        ja="{kinds}の入力はそれぞれ独自のグループにまとまっています",
    ),
    "kinds_shared": S(
        en="{kinds} inputs share one group", ja="{kinds}の入力は同じ 1 つのグループにまとまっています"
    ),
    "kinds_spread": S(
        en="{kinds} inputs spread over several groups", ja="{kinds}の入力は複数のグループに分かれています"
    ),
    "reading_one_domain": S(
        en="This data has only one kind of input, so there are no kinds of input to compare the groups with.",
        ja="このデータには入力の種類が 1 つしかないため、グループと比べる入力の種類がありません。",
    ),
    "color_by": S(en="Colour by", ja="色分け"),
    "by_cluster": S(en="Group found", ja="見つかったグループ"),
    "selected_inputs": S(en="Selected inputs ({n})", ja="選択した入力（{n} 件）"),
    "select_hint": S(
        en="Draw a loop around dots on the map (or click one) to see those images under the map.",
        ja="地図上の点を囲む（またはクリックする）と、その画像が地図の下に表示されます。",
    ),
    "caption_runs_table": S(
        en="Every run shown: its method, size and accuracy on images it never saw in training.",
        ja="表示中のすべての実行：手法、大きさ、学習で見ていない画像での正解率。",
    ),
    "acc_cost_header": S(en="Accuracy against cost", ja="正解率とコスト"),
    "cost_axis": S(en="Cost", ja="コスト"),
    "cost_trainable": S(en="Trainable parameters", ja="学習するパラメーター数"),
    "cost_flops": S(en="Computation (FLOPs)", ja="計算量（FLOPs）"),
    "cost_latency_s": S(en="Response time", ja="応答時間"),
    "cost_train_time_s": S(en="Training time", ja="学習時間"),
    "caption_repeat_spread": S(
        en="Each setting averaged over its repeats (the same training with another random seed); a large spread means one run alone is not enough to judge.",
        ja="各設定を、繰り返し（乱数シードだけを変えた同じ学習）で平均しました。ばらつきが大きいほど、1 回の実行だけでは判断できません。",
    ),
    "groups_found": S(en="Groups found", ja="見つかったグループ数"),
    "no_spectra": S(
        en="This layer has no learned factor to show (plain LoRA matrices are shown as one).",
        ja="この層には表示できる学習済みの因子がありません。",
    ),
    "col_n": S(en="Runs", ja="実行数"),
    "col_mean": S(en="Mean accuracy", ja="平均正解率"),
    "col_std": S(en="Spread (std)", ja="ばらつき（標準偏差）"),
    "per_domain_header": S(en="Accuracy per kind of input", ja="入力の種類ごとの正解率"),
    "repeat_spread_header": S(en="Mean and spread over repeats", ja="繰り返しによる平均とばらつき"),
    "contractions_used": S(
        en="How the adapted layers computed, each in the way measured fastest on this computer (all give the "
        "same result): {counts}.",
        ja="適応させた各層は、このコンピューターで最も速いと測定された方法で計算しました（どれも同じ結果です）：{counts}。",
    ),
    "contraction_count": S(en="{n} layers with {path}", ja="{path}で {n} 層"),
    "no_repeats": S(
        en="Each setting has been trained once, so there is no spread to show yet: train one again with "
        "another repeat # (Train page, technical settings) to see how much a result varies by chance.",
        ja="どの設定もまだ 1 回しか学習していないため、ばらつきはまだ表示できません。"
        "「学習」ページの技術的な設定で繰り返し # を変えてもう一度学習すると、結果が偶然でどれだけ変わるかがわかります。",
    ),
    "mixed_data": S(
        en="These runs were trained on {n} different data sets, and accuracies on different data cannot be "
        "compared. The page shows one data set at a time: pick it below.",
        ja="これらの実行は {n} 種類の異なるデータセットで学習されており、異なるデータでの正解率は比べられません。"
        "このページでは一度に 1 つのデータセットだけを表示します。下で選んでください。",
    ),
    "data_set": S(en="Data set", ja="データセット"),
    "data_builtin": S(en="{name} · {domains} · {size} px", ja="{name}・{domains}・{size} px"),
    "data_per_class": S(en="{n} images per class", ja="クラスあたり {n} 枚"),
    "data_uploaded": S(en="{name} (uploaded)", ja="{name}（アップロード）"),
    # -- the headline -------------------------------------------------------------------------------
    "headline_header": S(en="The result", ja="結果"),
    "headline_accuracy": S(
        en="Accuracy on images never seen in training", ja="学習で見ていない画像での正解率"
    ),
    "headline_delta": S(en="{delta} points vs {other}", ja="{delta} ポイント（{other} との差）"),
    "headline_domain_delta": S(en="{delta} vs {other} ({acc})", ja="{delta}（{other} {acc} との差）"),
    "headline_params": S(en="Trainable parameters", ja="学習するパラメーター数"),
    "headline_params_value": S(en="{a} vs {b}", ja="{a} 対 {b}"),
    "headline_time": S(en="Extra time per image", ja="画像 1 枚あたりの追加時間"),
    "headline_time_value": S(en="{delta} ms", ja="{delta} ms"),
    "headline_time_detail": S(en="{a}: {ta} ms · {b}: {tb} ms", ja="{a}：{ta} ms・{b}：{tb} ms"),
    "headline_file": S(en="Adapter file", ja="アダプターのファイル"),
    "headline_file_detail": S(en="{share} of the full model ({full})", ja="モデル全体（{full}）の {share}"),
    "headline_by_domain": S(en="{method} on each kind of input", ja="入力の種類ごとの {method} の正解率"),
    "headline_time_help": S(
        en="Both models took turns on the same {n} test images on this computer, {k} rounds in alternating "
        "order, so a busy moment slows both alike. The number is the median of the {k} per-round differences, "
        "per image (the middle half of the rounds spanned {spread} ms). A difference of a fraction of a "
        "millisecond can still be chance.",
        ja="このコンピューターで、同じ {n} 枚のテスト画像を 2 つのモデルに交互に {k} 回ずつ通し（順番も毎回入れ替え）、"
        "混み具合の影響が両方に同じようにかかるようにして測りました。数値は {k} 回の差の中央値（画像 1 枚あたり）で、"
        "中ほど半分の回の差は {spread} ms の幅に収まりました。1 ミリ秒に満たない差は偶然のこともあります。",
    ),
    "headline_sentence": S(
        en="On images it never saw in training, {a} is {diff} ({acc_a} vs {acc_b}), {budget}; {time}, and its "
        "file is {size}.",
        ja="学習で見ていない画像で、{a} の正解率は{diff}（{acc_a} 対 {acc_b}）。{budget}。{time}。ファイルは {size} です。",
    ),
    "headline_better": S(
        en="{points} points more accurate than {other}", ja="{other} より {points} ポイント高い"
    ),
    "headline_worse": S(
        en="{points} points less accurate than {other}", ja="{other} より {points} ポイント低い"
    ),
    "headline_same": S(en="as accurate as {other}", ja="{other} と同じ"),
    "headline_slower": S(
        en="it takes {time} ms more per image", ja="画像 1 枚あたり {time} ms 多くかかります"
    ),
    "headline_faster": S(
        en="it takes {time} ms less per image", ja="画像 1 枚あたりの時間は {time} ms 短くなります"
    ),
    "headline_untimed": S(
        en="its time per image could not be measured", ja="画像 1 枚あたりの時間は測定できませんでした"
    ),
    "headline_matched": S(
        en="with the same number of trainable parameters ({a}: {na}, {b}: {nb})",
        ja="学習するパラメーター数は同じです（{a}：{na}、{b}：{nb}）",
    ),
    "headline_unmatched": S(
        en="but with different numbers of trainable parameters ({a}: {na}, {b}: {nb}), so this is not a "
        "like-for-like comparison",
        ja="ただし学習するパラメーター数が異なるため（{a}：{na}、{b}：{nb}）、同じ条件の比較ではありません",
    ),
    "headline_missing": S(
        en="The result card needs one run of {a} and one of {b} on the same data: run the demo on Home.",
        ja="結果カードには、同じデータでの {a} と {b} の実行が 1 つずつ必要です。ホームでデモを実行してください。",
    ),
    "headline_matched_short": S(en="same budget", ja="同じ規模"),
    "headline_unmatched_short": S(en="different budgets", ja="規模が異なる"),
    "unit_kib": S(en="{n} KiB", ja="{n} KiB"),
    "unit_mib": S(en="{n} MiB", ja="{n} MiB"),
    # -- runs -----------------------------------------------------------------------------------------
    "download_csv": S(en="Download the table (CSV)", ja="表をダウンロード（CSV）"),
    "one_run_header": S(en="One run", ja="1 つの実行"),
    "download_adapter": S(en="Download the adapter (zip)", ja="アダプターをダウンロード（zip）"),
    "delete_run": S(en="Delete this run", ja="この実行を削除"),
    "delete_confirm": S(
        en="Delete {name} for good? Its record and its saved folder are removed; this cannot be undone.",
        ja="{name} を完全に削除しますか？記録と保存フォルダーが削除され、元に戻せません。",
    ),
    "delete_yes": S(en="Yes, delete it", ja="はい、削除します"),
    "delete_no": S(en="Keep it", ja="残す"),
    "run_failed": S(
        en="This run failed during training, so it has nothing to download ({error}).",
        ja="この実行は学習中に失敗したため、ダウンロードできるものはありません（{error}）。",
    ),
    "registry_header": S(
        en="Every recorded run (also from the command line)",
        ja="記録されたすべての実行（コマンドラインからのものも含む）",
    ),
    "registry_explain": S(
        en="{n} run(s) recorded in {path}.", ja="{path} に {n} 件の実行が記録されています。"
    ),
    "download_registry_csv": S(
        en="Download all recorded runs (CSV)", ja="記録されたすべての実行をダウンロード（CSV）"
    ),
    "cleanup_header": S(en="Disk space", ja="ディスク容量"),
    "cleanup_usage": S(
        en="{n} recorded run(s) use {total} on disk: run folders {runs}, registry {registry}.",
        ja="記録された {n} 件の実行がディスクを {total} 使っています（実行フォルダー {runs}、記録 {registry}）。",
    ),
    "cleanup_open": S(en="Clean up old runs", ja="古い実行を整理"),
    "cleanup_explain": S(
        en="Deletes recorded runs for good: every session's and the command line's, never a run still "
        "training. You first see which runs would go and how much space that frees; nothing is deleted "
        "before you confirm.",
        ja="記録された実行を完全に削除します。すべてのセッションとコマンドラインの実行が対象ですが、学習中の実行は"
        "削除しません。まず削除される実行と空く容量が表示され、確認するまで何も削除されません。",
    ),
    "cleanup_rule": S(en="Which runs to delete", ja="削除する実行"),
    "cleanup_rule_older": S(en="Runs older than some days", ja="一定の日数より古い実行"),
    "cleanup_rule_keep": S(en="All but the newest runs", ja="新しい実行だけを残す"),
    "cleanup_days": S(en="Older than (days)", ja="経過日数（この日数より古いものを削除）"),
    "cleanup_keep": S(en="Runs to keep (the newest)", ja="残す実行の数（新しい順）"),
    "cleanup_preview": S(en="Show what would be deleted", ja="削除される実行を表示"),
    "cleanup_nothing": S(
        en="Nothing to clean up: no recorded run matches.",
        ja="整理するものはありません。該当する実行はありません。",
    ),
    "cleanup_confirm": S(
        en="Delete these {n} run(s) for good? This frees {size}. Their records and saved folders are removed; "
        "this cannot be undone.",
        ja="これらの {n} 件の実行を完全に削除しますか？{size} が空きます。記録と保存フォルダーが削除され、元に戻せません。",
    ),
    "cleanup_yes": S(en="Yes, delete {n} run(s)", ja="はい、{n} 件を削除します"),
    "cleanup_no": S(en="Keep them", ja="残す"),
    "cleanup_done": S(
        en="Deleted {n} run(s) and freed {size}.", ja="{n} 件の実行を削除し、{size} を空けました。"
    ),
    "cleanup_usage_leftovers": S(
        en="{n} leftover folder(s) of interrupted runs use {size} more; a clean-up removes them.",
        ja="中断された実行の残りのフォルダー {n} 個が、さらに {size} 使っています。整理すると削除されます。",
    ),
    "cleanup_confirm_leftovers": S(
        en="{n} leftover folder(s) of interrupted runs ({size}) will be removed: no recorded run uses them "
        "and no training is writing them.",
        ja="中断された実行の残りのフォルダー {n} 個（{size}）を削除します。記録された実行はどれも使っておらず、"
        "書き込み中の学習もありません。",
    ),
    "cleanup_yes_leftovers": S(en="Yes, remove them", ja="はい、削除します"),
    "cleanup_done_leftovers": S(
        en="Removed {n} leftover folder(s) of interrupted runs, {size}.",
        ja="中断された実行の残りのフォルダー {n} 個（{size}）を削除しました。",
    ),
    "report_header": S(en="Report to send after the meeting", ja="会議後に送るレポート"),
    "report_explain": S(
        en="One HTML file with the runs table, the {n} chart(s) shown in this session, each with its explanation, "
        "and the glossary. It opens in any browser, without internet.",
        ja="実行の表と、このセッションで表示した {n} 個のグラフ（それぞれの説明付き）、用語集をまとめた 1 つの HTML "
        "ファイルです。インターネットなしで、どのブラウザーでも開けます。",
    ),
    "download_report": S(en="Download the report (HTML)", ja="レポートをダウンロード（HTML）"),
    "report_title": S(en="MetaLoRA Studio — results", ja="MetaLoRA Studio — 結果"),
    "training_curves": S(en="Training curves", ja="学習曲線"),
    # -- the glossary (app/glossary.py): each word as the pages and charts write it, and what it means --------
    "glossary": S(en="Glossary", ja="用語集"),
    "glossary_entry": S(en="**{word}**: {means}", ja="**{word}**：{means}"),
    "gloss_adapter": S(en="Adapter", ja="アダプター"),
    "gloss_adapter_means": S(
        en="A small add-on trained on top of a frozen pre-trained model; only the add-on learns, so it is cheap "
        "to train and to store.",
        ja="固定した学習済みモデルに付けて学習する小さな追加部品で、学習するのはこの部品だけなので、学習も保存も軽く済みます。",
    ),
    "gloss_lora_adapter": S(en="LoRA", ja="LoRA"),
    "gloss_lora_adapter_means": S(
        en="The usual low-rank adapter: one fixed change to each layer, the same for every input.",
        ja="通常の低ランクアダプターで、各層への変更は 1 つに固定され、どの入力にも同じです。",
    ),
    "gloss_metalora_adapter": S(en="MetaLoRA", ja="MetaLoRA"),
    "gloss_metalora_adapter_means": S(
        en="An adapter whose change to each layer is set anew for every input, by its scaling factors.",
        ja="各層への変更を、入力ごとにスケーリング係数で決め直すアダプターです。",
    ),
    "gloss_scaling": S(en="Scaling factors", ja="スケーリング係数"),
    "gloss_scaling_means": S(
        en="The short list of numbers MetaLoRA computes from each input for every adapted layer; they set how "
        "that layer's adapter changes for that input.",
        ja="MetaLoRA が入力ごと・適応させた層ごとに計算する短い数値の列で、その入力に対する層のアダプターの変化を決めます。",
    ),
    "gloss_tensor": S(en="CP / Tensor Ring", ja="CP / テンソルリング"),
    "gloss_tensor_means": S(
        en="Two ways to build an adapter's change from a few small pieces; the scaling factors set how much each "
        "piece counts.",
        ja="アダプターの変化を少数の小さな部品から組み立てる 2 つの方法で、スケーリング係数が各部品の効き方を決めます。",
    ),
    "gloss_domain": S(en="Kind of input (domain)", ja="入力の種類（ドメイン）"),
    "gloss_domain_means": S(
        en="A way the images are shown, such as clean, inverted, rotated or mirrored; the adapter is never told "
        "which one it sees.",
        ja="画像の見せ方（そのまま・反転・回転・鏡像など）のことで、アダプターにはどれを見ているかを教えません。",
    ),
    "gloss_rank": S(en="Rank", ja="ランク"),
    "gloss_rank_means": S(
        en="The size of an adapter: how many independent directions of change it has room for.",
        ja="アダプターの大きさで、独立した変化の方向をいくつ持てるかを表します。",
    ),
    "gloss_effective_rank": S(en="Effective rank", ja="実効ランク"),
    "gloss_effective_rank_means": S(
        en="How many of those directions a layer's change really needs: the fewest that keep its error under "
        "the tolerance, or where its error curve bends.",
        ja="層の変化が実際に必要とする方向の数で、誤差が許容誤差を下回る最小の数、または誤差の曲線が曲がる点です。",
    ),
    "gloss_trainable": S(en="Trainable parameters", ja="学習するパラメーター数"),
    "gloss_trainable_means": S(
        en="How many numbers training adjusts; the frozen model's own numbers stay as they are.",
        ja="学習で調整される数値の個数で、固定したモデル自体の数値は変わりません。",
    ),
    "gloss_accuracy": S(en="Accuracy", ja="正解率"),
    "gloss_accuracy_means": S(
        en="The share of images never seen in training that the model classifies correctly.",
        ja="学習で見ていない画像のうち、モデルが正しく分類した割合です。",
    ),
    "gloss_repeat": S(en="Repeat #", ja="繰り返し #"),
    "gloss_repeat_means": S(
        en="A repeat trains the same settings again with another random seed (the chance that sets its starting "
        "point), to see how much a result varies by chance.",
        ja="繰り返しとは、乱数シード（学習の出発点を決める偶然）だけを変えて同じ設定でもう一度学習することで、結果が偶然でどれだけ変わるかがわかります。",
    ),
    "gloss_epoch": S(en="Epoch", ja="エポック"),
    "gloss_epoch_means": S(
        en="One pass of training over all the training images.",
        ja="学習用の画像すべてを 1 回通して学習することです。",
    ),
    "gloss_cluster": S(en="Group found (cluster)", ja="見つかったグループ（クラスター）"),
    "gloss_cluster_means": S(
        en="A group of images the adapter treats alike, found from their scaling factors alone, without being "
        "told their kind.",
        ja="アダプターが似た扱いをする画像のまとまりで、入力の種類を教えずにスケーリング係数だけから見つけます。",
    ),
    "gloss_ari": S(en="ARI (adjusted Rand index)", ja="ARI（調整ランド指数）"),
    "gloss_ari_means": S(
        en="How well the groups found match the kinds of input, from 1 (exactly) down to 0 (no better than "
        "chance).",
        ja="見つかったグループが入力の種類とどれだけ一致するかを表し、1 は完全に一致、0 は偶然と同じです。",
    ),
    "gloss_nmi": S(en="NMI (normalised mutual information)", ja="NMI（正規化相互情報量）"),
    "gloss_nmi_means": S(
        en="How much knowing an image's group tells about its kind of input, from 1 (everything) to 0 (nothing).",
        ja="画像のグループがわかると入力の種類がどれだけわかるかを表し、1 はすべて、0 はまったくわからないことを意味します。",
    ),
    "gloss_pca": S(en="PCA (principal component analysis)", ja="PCA（主成分分析）"),
    "gloss_pca_means": S(
        en="A way to draw many numbers per image as a flat map that keeps as much of their spread as possible, "
        "so that images the adapter treats alike land close together.",
        ja="画像ごとの多数の数値を、ばらつきをできるだけ残したまま平面の地図に描く方法で、アダプターが似た扱いをする画像ほど近くに置かれます。",
    ),
    "gloss_pareto": S(en="Pareto front", ja="パレートフロント"),
    "gloss_pareto_means": S(
        en="The methods that no other method beats on accuracy and cost at once: the best trade-offs.",
        ja="正解率とコストの両方で同時に上回る手法が他にない手法の集まりで、最良の選択肢です。",
    ),
    "gloss_flops": S(en="FLOPs", ja="FLOPs"),
    "gloss_flops_means": S(
        en="The number of arithmetic operations the model makes for one image: a measure of computation that "
        "does not depend on the computer.",
        ja="モデルが画像 1 枚に行う計算の回数で、コンピューターに左右されない計算量の目安です。",
    ),
    # -- table columns ---------------------------------------------------------------------------------
    "col_run": S(en="Run", ja="実行"),
    "col_method": S(en="Method", ja="手法"),
    "col_rank": S(en="Rank", ja="ランク"),
    "col_seed": S(en="Repeat #", ja="繰り返し #"),
    "col_epochs": S(en="Epochs", ja="エポック"),
    "col_model": S(en="Model", ja="モデル"),
    "col_data": S(en="Data", ja="データ"),
    "col_test_acc": S(en="Accuracy on unseen images (%)", ja="未学習の画像での正解率（%）"),
    "col_trainable_params": S(en="Trainable parameters", ja="学習するパラメーター数"),
    "col_flops": S(en="Computation per image (FLOPs)", ja="画像 1 枚あたりの計算量（FLOPs）"),
    "col_train_time_s": S(en="Training time (s)", ja="学習時間（秒）"),
    "col_device": S(en="Device", ja="デバイス"),
    "col_created": S(en="Recorded", ja="記録日時"),
    "col_status": S(en="Status", ja="状態"),
    "col_layer": S(en="Layer", ja="層"),
    "col_code_name": S(en="Code name", ja="コード上の名前"),
    "col_layer_type": S(en="Type", ja="種類"),
    "col_weight_shape": S(en="Weight shape", ja="重みの形"),
    "col_weights": S(en="Weights", ja="重みの数"),
    "col_split": S(en="Split", ja="分割"),
    "col_images": S(en="Images", ja="画像数"),
    "col_size": S(en="Size on disk", ja="ディスク上のサイズ"),
}

# The display names of the domain ids (DOMAIN_NAMES), domain_name and display_name are the library's
# (metalora.i18n: its figures and report name domains too), imported above and re-exported for the pages.

#: Display names of the data splits (:meth:`metalora.data.DataSplits.as_dict`).
SPLIT_NAMES: dict[str, dict[str, str]] = {
    "train": S(en="training", ja="学習用"),
    "val": S(en="validation", ja="検証用"),
    "test": S(en="test (unseen)", ja="テスト用（未学習）"),
}
#: Display names of the layer types an adapter can be added to (the PyTorch class name where unknown).
CONTRACTIONS: dict[str, dict[str, str]] = {
    "factored": S(en="the update in its small factored form", ja="小さな分解形のままの更新"),
    "composed": S(en="a combined small kernel", ja="まとめた小さなカーネル"),
    "kernel": S(en="one full kernel per image", ja="画像ごとの完全なカーネル"),
}
"""How an adapted layer computes its output (metalora.adapters.contraction): the planner's paths."""

LAYER_TYPES: dict[str, dict[str, str]] = {
    "Conv2d": S(en="convolution (Conv2d)", ja="畳み込み（Conv2d）"),
    "Linear": S(en="fully connected (Linear)", ja="全結合（Linear）"),
}


def t(key: str, lang: str, **fields) -> str:
    """The text for ``key`` in ``lang`` with ``fields`` filled in; ``KeyError`` for a missing key or language."""
    return text(STRINGS, key, lang, **fields)


#: The texts Plotly draws itself (the chart toolbar's tooltips, its notices), in each language but English:
#: handed to every chart as Plotly's ``locales`` setting (app/ui.py, ``chart``). The keys are Plotly's own.
PLOTLY_TEXTS: dict[str, dict[str, str]] = {
    "ja": {
        "Zoom": "ズーム",
        "Pan": "移動",
        "Box Select": "四角で選択",
        "Lasso Select": "囲んで選択",
        "Zoom in": "拡大",
        "Zoom out": "縮小",
        "Autoscale": "全体を表示",
        "Reset axes": "軸を元に戻す",
        "Reset view": "表示を元に戻す",
        "Download plot as a PNG": "PNG 画像で保存",
        "Download plot": "画像で保存",
        "Toggle Spike Lines": "補助線の表示を切り替え",
        "Show closest data on hover": "最も近い点の値を表示",
        "Compare data on hover": "同じ位置の値を並べて表示",
        "Toggle show closest data on hover": "最も近い点の値の表示を切り替え",
        "Double-click to zoom back out": "ダブルクリックで元の表示に戻ります",
        "Snapshot succeeded": "画像を保存しました",
        "Taking snapshot - this may take a few seconds": "画像を作成しています（数秒かかります）",
        "Sorry, there was a problem downloading your snapshot!": "画像を保存できませんでした",
        "Draw freeform": "自由に描く",
        "Erase active shape": "選んだ図形を消す",
    },
}
